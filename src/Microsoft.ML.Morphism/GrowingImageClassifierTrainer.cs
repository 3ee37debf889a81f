// The growth-search trainer: a NASH-style architecture search over exact morphs, returning a morphable classifier.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism;

/// <summary>
/// Trains an image classifier by growing it: the starting network (<see cref="MorphableImageClassifierTrainer.Options.Architecture"/>,
/// default <see cref="MorphableImageClassifierTrainer.DefaultArchitecture"/>) trains <see cref="Options.InitialEpochs"/>, then each round
/// makes <see cref="Options.ChildrenPerRound"/> children by random exact morphs, each inheriting the incumbent's weights, trains
/// them and the incumbent <see cref="Options.EpochsPerTrial"/> epochs on a short cosine cycle, and keeps the best by validation
/// accuracy, until the budget's search share is spent; the rest trains the winner. Validation rows are
/// <see cref="ClassifierTrainingOptions.ValidationSet"/> when given, else <see cref="ClassifierTrainingOptions.ValidationSetFraction"/> of the training rows.
/// The result is a <see cref="MorphableImageClassifierTransformer"/> (save/load, <c>Morph()</c> and upgrades work on it)
/// whose <see cref="MorphableImageClassifierModelParameters.Lineage"/> holds every trial. Columns as for
/// <see cref="MorphableImageClassifierTrainer"/>. Continue from a trained model with <see cref="MorphismCatalog.Grow(ITransformer, IDataView, Options)"/>.
/// </summary>
public sealed class GrowingImageClassifierTrainer : IEstimator<MorphableImageClassifierTransformer>
{
    /// <summary>
    /// Options: the classifier's (columns, image shape, starting architecture, training knobs; <c>MaxEpoch</c> is not
    /// used, the budget decides) and the search's. With no budget set, <see cref="Options.MaxTrials"/> defaults to 8.
    /// </summary>
    public sealed class Options : MorphableImageClassifierTrainer.Options
    {
        /// <summary>Options with the search's defaults; <see cref="ClassifierTrainingOptions.ValidationSetFraction"/> is 0.1 (the search chooses by validation).</summary>
        public Options() => ValidationSetFraction = 0.1;

        /// <summary>Budget in training MACs for the whole search (training, validation, morph verification, final training); deterministic.</summary>
        public long? MacBudget;
        /// <summary>Most child trials; deterministic. Default 8 when no budget is set.</summary>
        public int? MaxTrials;
        /// <summary>Wall-clock budget; the result then depends on the machine's speed.</summary>
        public TimeSpan? TimeBudget;
        /// <summary>Largest trainable parameter count a child may have (deployment cost). Default: no limit.</summary>
        public long? MaxParameters;
        /// <summary>Largest forward MACs per image a child may have (deployment cost). Default: no limit.</summary>
        public long? MaxMacsPerImage;
        /// <summary>Peak learning rate of each trial's short cosine cycle. Default: LearningRate (the final training always uses LearningRate).</summary>
        public double? TrialLearningRate;
        /// <summary>K: children per round. Default 4.</summary>
        public int ChildrenPerRound = 4;
        /// <summary>E: epochs per trial. Default 1.</summary>
        public int EpochsPerTrial = 1;
        /// <summary>Each child applies 1 to this many random morphs. Default 2.</summary>
        public int MaxMorphsPerChild = 2;
        /// <summary>The morph kinds the search may use. Default: all.</summary>
        public SearchMorph[]? AllowedMorphs;
        /// <summary>Epochs that train the starting network before the first round. Default 5 for the trainer, 0 for <c>Grow</c> (the model is trained).</summary>
        public int? InitialEpochs;
        /// <summary>Share of the MAC or time budget kept for training the winner. Default 0.25.</summary>
        public double FinalTrainingFraction = 0.25;
        /// <summary>Epochs that train the winner. Default: what the rest of the budget pays for (2 × EpochsPerTrial with only MaxTrials).</summary>
        public int? FinalEpochs;
        /// <summary>Called with every trial as it ends (plan, parent, parameters, MACs, epochs, validation accuracy, wall time).</summary>
        public Action<TrialRecord>? TrialCallback;

        /// <summary>The one mapping from these options to the engine's search settings.</summary>
        internal GrowthSearchSettings ToSearchSettings(TrainingRecipe recipe, int defaultInitialEpochs) => new()
        {
            Recipe = recipe,
            InitialEpochs = InitialEpochs ?? defaultInitialEpochs,
            TrialLearningRate = TrialLearningRate,
            ChildrenPerRound = ChildrenPerRound,
            EpochsPerTrial = EpochsPerTrial,
            MaxMorphsPerChild = MaxMorphsPerChild,
            AllowedMorphs = AllowedMorphs is null ? Enum.GetValues<SearchMorph>() : [.. AllowedMorphs],
            MacBudget = MacBudget,
            MaxTrials = MacBudget is null && MaxTrials is null && TimeBudget is null ? 8 : MaxTrials,
            TimeBudget = TimeBudget,
            FinalTrainingFraction = FinalTrainingFraction,
            FinalEpochs = FinalEpochs,
            MaxParameters = MaxParameters,
            MaxMacsPerImage = MaxMacsPerImage,
            Seed = recipe.Seed,
        };
    }

    private readonly IHost _host;
    private readonly Options _options;

    internal GrowingImageClassifierTrainer(IHostEnvironment env, Options options)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(GrowingImageClassifierTrainer));
        _host.CheckValue(options, nameof(options));
        _options = options;
    }

    /// <summary>Runs the search on <paramref name="input"/> and returns the winner.</summary>
    public MorphableImageClassifierTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        var labels = LabelColumn.Bind(input, _options.LabelColumnName);
        var shape = MorphableImageClassifierTrainer.ResolveShape(_host, _options, input);
        var features = FeatureColumn.Bind(input.Schema, _options.FeatureColumnName, shape);
        var network = MorphableImageClassifierTrainer.BuildNetwork(_options, shape, labels.ClassNames.Count);
        var recipe = MorphableImageClassifierTrainer.Recipe(_host, _options);
        var result = GrowthRun.Run(_host, network, NetworkWeights.Initialize(network, recipe.Seed), input, _options.ValidationSet, features, labels,
            _options, _options.ToSearchSettings(recipe, defaultInitialEpochs: 5));
        var model = new MorphableImageClassifierModelParameters(result.Network, result.Weights, labels.ClassNames, recipe,
            result.Steps, lineage: result.Lineage);
        return new MorphableImageClassifierTransformer(_host, model, _options.FeatureColumnName, features.Column.Type,
            _options.LabelColumnName, _options.ScoreColumnName, _options.PredictedLabelColumnName);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _host.CheckValue(inputSchema, nameof(inputSchema));
        return MorphableImageClassifierTrainer.OutputSchema(_options, inputSchema);
    }
}
