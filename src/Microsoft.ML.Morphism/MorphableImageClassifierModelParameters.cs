// The learned state of a morphable classifier: network, weights, class names, training recipe and morph history.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism;

/// <summary>
/// What a <see cref="MorphableImageClassifierTransformer"/> knows: the network description and its
/// weights, the class names (in label-key order), the recipe it was trained with (refit reuses it,
/// also for models loaded from disk), the morphs that produced it and the last morph's report.
/// Immutable; morphing or refitting creates a new instance.
/// </summary>
public sealed class MorphableImageClassifierModelParameters
{
    private readonly Lazy<NetworkModule> _scoringModule;

    /// <summary>Creates model parameters; the weights are validated against the network.</summary>
    public MorphableImageClassifierModelParameters(NetworkDescription network, NetworkWeights weights, IReadOnlyList<string> classNames,
        TrainingRecipe recipe, IEnumerable<MorphStep>? morphHistory = null, MorphReport? lastMorphReport = null,
        IEnumerable<EpochMetrics>? trainingHistory = null, SearchLineage? lineage = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(recipe);
        weights.Validate(network);
        if (!network.Input.IsImage)
            throw new ArgumentException($"An image classifier needs a C×H×W input; the network takes {network.Input}.");
        if (network.Output.IsImage || network.Output.Size != classNames.Count)
            throw new ArgumentException($"The network outputs {network.Output} but there are {classNames.Count} classes; the last layer must be dense({classNames.Count}).");
        Network = network;
        Weights = weights.ToPrecision(Precision.Float32);
        ClassNames = [.. classNames];
        Recipe = recipe;
        MorphHistory = morphHistory?.ToImmutableArray() ?? [];
        LastMorphReport = lastMorphReport;
        TrainingHistory = trainingHistory?.ToImmutableArray() ?? [];
        Lineage = lineage;
        _scoringModule = new Lazy<NetworkModule>(CreateScoringModule, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The network description (input C×H×W, logits for each class).</summary>
    public NetworkDescription Network { get; }

    /// <summary>The weights (float32).</summary>
    public NetworkWeights Weights { get; }

    /// <summary>Class names in label-key order (key value k is ClassNames[k − 1]).</summary>
    public ImmutableArray<string> ClassNames { get; }

    /// <summary>How the network was trained; refits start from it.</summary>
    public TrainingRecipe Recipe { get; }

    /// <summary>Every morph applied since the first training, oldest first.</summary>
    public ImmutableArray<MorphStep> MorphHistory { get; }

    /// <summary>The preservation report of the last morph (measured before its refit), or null.</summary>
    public MorphReport? LastMorphReport { get; }

    /// <summary>Per-epoch metrics of the training or refit that produced these weights.</summary>
    public ImmutableArray<EpochMetrics> TrainingHistory { get; }

    /// <summary>The growth search that produced this network (every trial, bounded), or null when none did.</summary>
    public SearchLineage? Lineage { get; }

    /// <summary>Image channels the network takes.</summary>
    public int ImageChannels => Network.Input.Channels;

    /// <summary>Image height the network takes.</summary>
    public int ImageHeight => Network.Input.Height;

    /// <summary>Image width the network takes.</summary>
    public int ImageWidth => Network.Input.Width;

    /// <summary>A Keras-like summary of the network (morph-created layers marked).</summary>
    public string Summary() => Network.Summary();

    /// <summary>The network in eval mode for scoring, built once and shared (forward passes do not mutate it).</summary>
    internal NetworkModule ScoringModule => _scoringModule.Value;

    private NetworkModule CreateScoringModule()
    {
        var module = new NetworkModule(Network, Weights);
        module.eval();
        return module;
    }

    internal void Save(Action<string, Action<BinaryWriter>> saveStream)
    {
        saveStream(ModelPartsFormat.NetworkPart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteNetwork(p, Network)));
        saveStream(ModelPartsFormat.WeightsPart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteWeights(p, Weights)));
        saveStream(ModelPartsFormat.LabelsPart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteLabels(p, ClassNames)));
        saveStream(ModelPartsFormat.RecipePart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteJson(p, Recipe)));
        // The training history keeps its last MaxHistoryEpochs epochs, so that every model that saves also loads.
        var history = new StoredHistory([.. MorphHistory], StoredReport.From(LastMorphReport), [.. TrainingHistory.Skip(Math.Max(0, TrainingHistory.Length - MaxHistoryEpochs))]);
        saveStream(ModelPartsFormat.HistoryPart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteJson(p, history)));
        if (Lineage is not null)
            saveStream(ModelPartsFormat.LineagePart, w => ModelPart.Write(w, p => ModelPartsFormat.WriteLineage(p, Lineage)));
    }

    internal static MorphableImageClassifierModelParameters Load(Func<string, Func<BinaryReader, object>, object?> loadStream)
    {
        T Part<T>(string name, Func<PayloadReader, T> read) where T : class =>
            OptionalPart(name, read) ?? throw new InvalidDataException($"The model has no '{name}' part; it was not saved by this library or is damaged.");

        T? OptionalPart<T>(string name, Func<PayloadReader, T> read) where T : class
        {
            bool reached = false;
            object? part;
            try
            {
                part = loadStream(name, r =>
                {
                    reached = true;
                    return ModelPart.Read(r, name, read);
                });
            }
            catch (Exception e) when (!reached && e is InvalidDataException or IOException)
            {
                // The zip layer failed to inflate the entry (e.g. damaged compressed bytes) before our reader saw it.
                throw ModelPart.Corrupt(name, $"its zip entry cannot be read ({e.Message})", e);
            }
            return part as T;
        }

        var network = Part(ModelPartsFormat.NetworkPart, ModelPartsFormat.ReadNetwork);
        var weights = Part(ModelPartsFormat.WeightsPart, r => ModelPartsFormat.ReadWeights(r, network));
        var labels = Part(ModelPartsFormat.LabelsPart, r => ModelPartsFormat.ReadLabels(r, network));
        var recipe = Part(ModelPartsFormat.RecipePart, ModelPartsFormat.ReadRecipe);
        var history = Part(ModelPartsFormat.HistoryPart, ModelPartsFormat.ReadHistory);
        var lineage = OptionalPart(ModelPartsFormat.LineagePart, ModelPartsFormat.ReadLineage); // format 3; older models have none
        try
        {
            return new MorphableImageClassifierModelParameters(network, weights, labels, recipe, history.Morphs, history.LastReport?.ToReport(history.Morphs),
                history.Training, lineage);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"The model's parts do not fit together: {e.Message}", e);
        }
    }

    /// <summary>The most morph steps a model's history may hold (all its upgrades together).</summary>
    internal const int MaxHistoryMorphs = 10_000;

    /// <summary>The most epochs a saved model's training history holds (a save keeps the last ones).</summary>
    internal const int MaxHistoryEpochs = 10_000;

    // The stored forms are file-format contracts (format version 1): change them only with a new version.
    internal sealed record StoredHistory(List<MorphStep> Morphs, StoredReport? LastReport, List<EpochMetrics> Training);

    internal sealed record StoredReport(Precision Precision, int Inputs, double MaxAbsError, double MaxRelError, int MarginInputs, int AgreeingInputs,
        double? Residual, double? Density, long ParametersBefore, long ParametersAfter, string Device, bool Tf32Enabled, int Steps)
    {
        public static StoredReport? From(MorphReport? r) => r is null ? null
            : new(r.Precision, r.Inputs, r.MaxAbsError, r.MaxRelError, r.MarginInputs, r.AgreeingInputs, r.Residual, r.Density,
                r.ParametersBefore, r.ParametersAfter, r.Device, r.Tf32Enabled, r.Steps.Length);

        // The report's steps are the last Steps entries of the morph history.
        public MorphReport ToReport(List<MorphStep> history) => new()
        {
            Precision = Precision, Inputs = Inputs, MaxAbsError = MaxAbsError, MaxRelError = MaxRelError, MarginInputs = MarginInputs,
            AgreeingInputs = AgreeingInputs, Residual = Residual, Density = Density, ParametersBefore = ParametersBefore,
            ParametersAfter = ParametersAfter, Device = Device, Tf32Enabled = Tf32Enabled,
            Steps = [.. history.Skip(Math.Max(0, history.Count - Steps))],
        };
    }
}
