// Catalog entry points: ml.MulticlassClassification.Trainers.MorphableImageClassifier(...) and ml.Morphism() for the rest.
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Runtime;

namespace Microsoft.ML
{
    /// <summary>Catalog extensions of Microsoft.ML.Morphism.</summary>
    public static class MorphismCatalogExtensions
    {
        /// <summary>
        /// A trainer for a morphable TorchSharp CNN image classifier.
        /// </summary>
        /// <param name="catalog">The multiclass trainers catalog.</param>
        /// <param name="imageHeight">Image height in pixels (0: inferred from the feature column; see <see cref="MorphableImageClassifierTrainer.Options.ImageHeight"/>).</param>
        /// <param name="imageWidth">Image width in pixels (0: inferred).</param>
        /// <param name="imageChannels">Image channels, 1 grey or 3 RGB (0: inferred).</param>
        /// <param name="labelColumnName">Label column (key type).</param>
        /// <param name="featureColumnName">Feature column (channels-first Single vector, Image, or Byte vector of an encoded image).</param>
        /// <param name="architecture">Hidden layers in the network text form (null: a default CNN for the image size).</param>
        /// <param name="maxEpoch">Passes over the data.</param>
        /// <param name="batchSize">Examples per step.</param>
        /// <param name="learningRate">Peak learning rate (SGD with momentum, cosine schedule).</param>
        /// <param name="validationSet">Data evaluated after each epoch; the best epoch is kept.</param>
        public static MorphableImageClassifierTrainer MorphableImageClassifier(
            this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
            int imageHeight = 0,
            int imageWidth = 0,
            int imageChannels = 0,
            string labelColumnName = DefaultColumnNames.Label,
            string featureColumnName = DefaultColumnNames.Features,
            string? architecture = null,
            int maxEpoch = MorphableImageClassifierTrainer.Defaults.MaxEpoch,
            int batchSize = MorphableImageClassifierTrainer.Defaults.BatchSize,
            double learningRate = MorphableImageClassifierTrainer.Defaults.LearningRate,
            IDataView? validationSet = null)
            => catalog.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
            {
                ImageHeight = imageHeight,
                ImageWidth = imageWidth,
                ImageChannels = imageChannels,
                LabelColumnName = labelColumnName,
                FeatureColumnName = featureColumnName,
                Architecture = architecture,
                MaxEpoch = maxEpoch,
                BatchSize = batchSize,
                LearningRate = learningRate,
                ValidationSet = validationSet,
            });

        /// <summary>A trainer for a morphable TorchSharp CNN image classifier, with all options.</summary>
        public static MorphableImageClassifierTrainer MorphableImageClassifier(
            this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
            MorphableImageClassifierTrainer.Options options)
            => new(CatalogUtils.GetEnvironment(catalog), options);

        /// <summary>The Microsoft.ML.Morphism catalog: morphing, atomic saving and upgrading of saved models.</summary>
        public static MorphismCatalog Morphism(this MLContext ml) => new(ml);

        /// <summary>
        /// A trainer that grows the classifier by a growth search (NASH-style architecture search over exact morphs,
        /// each child inheriting its parent's weights) within a budget; see <see cref="GrowingImageClassifierTrainer"/>.
        /// </summary>
        public static GrowingImageClassifierTrainer GrowingImageClassifier(
            this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
            GrowingImageClassifierTrainer.Options options)
            => new(CatalogUtils.GetEnvironment(catalog), options);
    }
}

namespace Microsoft.ML.Morphism
{
    /// <summary>Morphing, saving and upgrading models that contain a <see cref="MorphableImageClassifierTransformer"/>.</summary>
    public sealed class MorphismCatalog
    {
        private readonly MLContext _ml;
        private readonly IHost _host;

        internal MorphismCatalog(MLContext ml)
        {
            _ml = ml ?? throw new ArgumentNullException(nameof(ml));
            _host = ((IHostEnvironment)ml).Register(nameof(MorphismCatalog));
        }

        /// <summary>An estimator that morphs the classifier in <paramref name="model"/> and refits it (see <see cref="MorphEstimator"/>).</summary>
        public MorphEstimator Morph(ITransformer model, MorphPlan plan, RefitOptions? refit = null) => new(_ml, model, plan, refit);

        /// <summary>The (last) morphable classifier inside a fitted model; an <see cref="ArgumentException"/> when there is none.</summary>
        public MorphableImageClassifierTransformer FindClassifier(ITransformer model) => ClassifierLocation.Find(model).Classifier;

        /// <summary>
        /// Grows the classifier inside a trained model (a pipeline, a bare classifier, or a loaded <c>.zip</c>) by a growth
        /// search on <paramref name="data"/> (the pipeline's input; validation rows as the options say), and returns the
        /// model with the winner in the classifier's place. Unset training knobs take the model's recipe; the options'
        /// columns, image shape and architecture are the model's and are not read; <c>InitialEpochs</c> defaults to 0.
        /// </summary>
        public ITransformer Grow(ITransformer model, IDataView data, GrowingImageClassifierTrainer.Options options)
        {
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(data);
            ArgumentNullException.ThrowIfNull(options);
            var location = ClassifierLocation.Find(model);
            var classifier = location.Classifier;
            var parent = classifier.Model;
            var input = location.Upstream(data);
            var features = FeatureColumn.Bind(input.Schema, classifier.FeatureColumnName, parent.Network.Input);
            var labels = LabelColumn.Bind(input, classifier.LabelColumnName);
            if (labels.ClassNames.Count != parent.ClassNames.Length)
                throw new ArgumentException($"The data's label '{classifier.LabelColumnName}' has {labels.ClassNames.Count} classes but the model has {parent.ClassNames.Length}.");
            var recipe = options.ToRecipe(parent.Recipe with { Seed = options.Seed ?? parent.Recipe.Seed });
            var validation = options.ValidationSet is null ? null : location.Upstream(options.ValidationSet);
            var result = GrowthRun.Run(classifier.HostEnvironment, parent.Network, parent.Weights, input, validation, features, labels, options,
                options.ToSearchSettings(recipe, defaultInitialEpochs: 0));
            var grown = new MorphableImageClassifierModelParameters(result.Network, result.Weights, parent.ClassNames, parent.Recipe,
                [.. parent.MorphHistory, .. result.Steps], lineage: result.Lineage);
            return location.Replace(classifier.WithModel(grown));
        }

        /// <summary>Loads the model at <paramref name="modelPath"/> and grows it (see <see cref="Grow(ITransformer, IDataView, GrowingImageClassifierTrainer.Options)"/>); save the result with <see cref="SaveModel"/>.</summary>
        public ITransformer Grow(string modelPath, IDataView data, GrowingImageClassifierTrainer.Options options) =>
            Grow(LoadModel(modelPath, out _), data, options);

        /// <summary>
        /// Saves <paramref name="model"/> like <c>ml.Model.Save</c>, but through a temp file in the same
        /// folder and a rename: if anything fails midway, the previous file at <paramref name="path"/> is untouched.
        /// </summary>
        public void SaveModel(ITransformer model, DataViewSchema inputSchema, string path)
        {
            ArgumentNullException.ThrowIfNull(model);
            AtomicFile.Write(path, stream => _ml.Model.Save(model, inputSchema, stream));
        }

        /// <summary>
        /// Upgrades a saved model: loads <paramref name="inputPath"/>, morphs its classifier with
        /// <paramref name="plan"/>, optionally refits on <paramref name="refitData"/> (raw data, as the
        /// saved pipeline expects it), and saves the result atomically to <paramref name="outputPath"/>.
        /// The input file is never touched. Without refit data the child is morph-only (its scores equal the parent's).
        /// </summary>
        public ModelUpgrade UpgradeModel(string inputPath, string outputPath, MorphPlan plan, IDataView? refitData = null, RefitOptions? refit = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(inputPath);
            ArgumentException.ThrowIfNullOrEmpty(outputPath);
            if (string.Equals(Path.GetFullPath(inputPath), Path.GetFullPath(outputPath), StringComparison.Ordinal))
                throw new ArgumentException("The upgraded model must be written to another file than the input model.", nameof(outputPath));
            var parent = LoadModel(inputPath, out var schema);
            var before = ClassifierLocation.Find(parent).Classifier;
            refit ??= new RefitOptions { MaxEpoch = refitData is null ? 0 : null };
            var result = MorphAndRefit.Run(_host, parent, plan, refit, refitData);
            SaveModel(result.Model, schema, outputPath);
            return new ModelUpgrade(result.Model, schema, before.Network, result.Child.Network, result.Report, result.Child.Model.TrainingHistory);
        }

        /// <summary>
        /// Loads a saved model like <c>ml.Model.Load</c>, with the reason when it cannot: a missing file is a
        /// <see cref="FileNotFoundException"/>; a file that is not an ML.NET model, or whose parts are damaged, is an
        /// <see cref="InvalidDataException"/> whose message names the problem (e.g. the classifier part that is
        /// corrupt) instead of ML.NET's reflection wrappers.
        /// </summary>
        public ITransformer LoadModel(string path, out DataViewSchema inputSchema)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Model file '{path}' not found.", path);
            try
            {
                return _ml.Model.Load(path, out inputSchema);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or IOException or TargetInvocationException)
            {
                // ML.NET builds each transformer by reflection, so a loader's own error arrives wrapped in
                // TargetInvocationExceptions whose message says nothing; report the loader's message.
                var cause = e;
                while (cause is TargetInvocationException { InnerException: { } inner })
                    cause = inner;
                throw new InvalidDataException($"'{path}' is not a valid ML.NET model or is damaged: {cause.Message}", e);
            }
        }
    }

    /// <summary>The result of <see cref="MorphismCatalog.UpgradeModel"/>.</summary>
    /// <param name="Model">The upgraded model (also written to the output path).</param>
    /// <param name="InputSchema">The model's input schema.</param>
    /// <param name="Before">The classifier's network before the upgrade.</param>
    /// <param name="After">The classifier's network after it.</param>
    /// <param name="Report">How exactly the morph preserved the function (before any refit).</param>
    /// <param name="Refit">Per-epoch refit metrics (empty for a morph-only upgrade).</param>
    public sealed record ModelUpgrade(ITransformer Model, DataViewSchema InputSchema, NetworkDescription Before, NetworkDescription After,
        MorphReport Report, IReadOnlyList<Training.EpochMetrics> Refit);
}
