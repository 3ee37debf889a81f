// The trainer: fits a TorchSharp CNN image classifier from an IDataView, ML.NET style (Options, channels, warm start).
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism;

/// <summary>
/// Trains a <see cref="MorphableImageClassifierTransformer"/>: a TorchSharp convolutional network
/// described by <see cref="Options.Architecture"/> (text form) or <see cref="Options.Network"/>,
/// whose last layer is a dense layer sized to the label's class count.
/// <list type="table">
/// <item><term>Input: label</term><description>key type (add <c>MapValueToKey</c> upstream).</description></item>
/// <item><term>Input: features</term><description>vector of Single, C·H·W channels-first pixels (<c>ExtractPixels</c>); an Image of H×W;
/// or a vector of Byte holding an encoded image file (PNG, JPEG, BMP, …: Model Builder's <c>byte[] ImageSource</c>, or
/// <c>LoadRawImageBytes</c>), decoded and resized to H×W inside.</description></item>
/// <item><term>Output: Score</term><description>vector of Single, class probabilities, slot names = class names.</description></item>
/// <item><term>Output: PredictedLabel</term><description>key over the class names.</description></item>
/// </list>
/// Continue training a model with <see cref="Fit(IDataView, MorphableImageClassifierModelParameters)"/>;
/// grow a fitted model with <c>Morph()</c> (see <see cref="MorphExtensions"/>).
/// <para>Bad data (the same rules apply to a refit and to the validation set):</para>
/// <list type="bullet">
/// <item>A row with a missing label (key 0) or a NaN/infinite feature value is skipped; the channel
/// warns "Skipped N training row(s) ...". Data with no usable row: <see cref="ArgumentException"/>
/// ("The training data has no rows" / "has no usable rows").</item>
/// <item>A label with fewer than 2 classes: <see cref="ArgumentOutOfRangeException"/> naming the column.</item>
/// <item>A feature column whose declared size does not match C·H·W (vector) or H×W (Image):
/// <see cref="ArgumentOutOfRangeException"/> at <c>Fit</c>, saying what to fix. A row of a
/// variable-size vector or unsized Image column that does not match: <see cref="InvalidOperationException"/>
/// naming the row (ML.NET's parallel cursors may wrap it; it is then the inner exception).</item>
/// </list>
/// </summary>
public sealed class MorphableImageClassifierTrainer : IEstimator<MorphableImageClassifierTransformer>
{
    /// <summary>Defaults of <see cref="Options"/>.</summary>
    public static class Defaults
    {
        /// <summary>Examples per optimizer step.</summary>
        public const int BatchSize = 64;
        /// <summary>Passes over the data.</summary>
        public const int MaxEpoch = 10;
        /// <summary>Peak learning rate (SGD).</summary>
        public const double LearningRate = 0.05;
        /// <summary>Upper bound of the in-memory feature cache.</summary>
        public const long FeatureCacheLimitMegabytes = 2048;

        /// <summary>The recipe every unset training knob comes from (the engine's <see cref="TrainingRecipe"/> defaults, with the values above).</summary>
        internal static TrainingRecipe Recipe(int seed) => new() { BatchSize = BatchSize, MaxEpoch = MaxEpoch, LearningRate = LearningRate, Seed = seed };
    }

    /// <summary>
    /// Options of the trainer (public fields, ML.NET style). The training knobs are declared in
    /// <see cref="ClassifierTrainingOptions"/>, shared with <see cref="RefitOptions"/>; left null they
    /// take the values in <see cref="Defaults"/>.
    /// </summary>
    public class Options : ClassifierTrainingOptions
    {
        /// <summary>Label column (key type). Default "Label".</summary>
        public string LabelColumnName = DefaultColumnNames.Label;
        /// <summary>Feature column (Single vector of C·H·W channels-first values, Image, or Byte vector of an encoded image). Default "Features".</summary>
        public string FeatureColumnName = DefaultColumnNames.Features;
        /// <summary>Score column written. Default "Score".</summary>
        public string ScoreColumnName = DefaultColumnNames.Score;
        /// <summary>Predicted-label column written. Default "PredictedLabel".</summary>
        public string PredictedLabelColumnName = DefaultColumnNames.PredictedLabel;
        /// <summary>
        /// Image height in pixels. 0 (the default): inferred — from a sized Image column's type, else from the first image
        /// (encoded image bytes are all resized to it); a pixel vector needs it set. The log says what was inferred.
        /// </summary>
        public int ImageHeight;
        /// <summary>Image width in pixels; 0 (the default) infers it like <see cref="ImageHeight"/>.</summary>
        public int ImageWidth;
        /// <summary>
        /// Image channels: 1 (grey) or 3 (RGB) for images, any count for pixel vectors. 0 (the default): inferred — for images,
        /// 1 when the first 16 are all grey (R = G = B), else 3; for a pixel vector, its values per row ÷ (height × width).
        /// Colour images with 1 are trained on luminance, with a warning in the log.
        /// </summary>
        public int ImageChannels;
        /// <summary>
        /// The hidden layers in the network text form, e.g. <c>"conv(16,3) relu maxpool(2) flatten dense(64) relu"</c>;
        /// the output layer (dense, one unit per class) is appended. Null: <see cref="DefaultArchitecture"/> for the image shape.
        /// </summary>
        public string? Architecture;
        /// <summary>A complete network (e.g. from <c>NetworkBuilder</c>) including its output layer; overrides <see cref="Architecture"/>.</summary>
        public NetworkDescription? Network;
        /// <summary>
        /// Growth inside this one training run, e.g. <c>"epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)"</c>:
        /// after each listed epoch the network is morphed exactly (verified), the optimizer state is carried by each morph's
        /// rule, and training continues on the same learning-rate schedule. Null: the network keeps its shape.
        /// </summary>
        public string? GrowthSchedule;
    }

    private readonly IHost _host;
    private readonly Options _options;

    internal MorphableImageClassifierTrainer(IHostEnvironment env, Options options)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(MorphableImageClassifierTrainer));
        _host.CheckValue(options, nameof(options));
        _options = options;
    }

    /// <summary>The default hidden layers for an image shape: conv-BN-ReLU-pool stages (16, 32, 64 channels) down to about 7×7, then dense(64).</summary>
    public static string DefaultArchitecture(int height, int width)
    {
        int stages = Math.Clamp((int)Math.Floor(Math.Log2(Math.Min(height, width) / 6.0)), 1, 3);
        var layers = new List<string>();
        for (int s = 0; s < stages; s++)
            layers.Add($"conv({16 << s},3) bn relu maxpool(2)");
        layers.Add("flatten dense(64) relu");
        return string.Join(" ", layers);
    }

    /// <summary>Trains from scratch.</summary>
    public MorphableImageClassifierTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>Continues training <paramref name="modelParameters"/> (same network and classes) on <paramref name="input"/>.</summary>
    public MorphableImageClassifierTransformer Fit(IDataView input, MorphableImageClassifierModelParameters? modelParameters)
    {
        _host.CheckValue(input, nameof(input));
        var labels = LabelColumn.Bind(input, _options.LabelColumnName);
        var shape = modelParameters?.Network.Input ?? ResolveShape(_host, _options, input);
        var features = FeatureColumn.Bind(input.Schema, _options.FeatureColumnName, shape);
        var network = modelParameters?.Network ?? BuildNetwork(_options, shape, labels.ClassNames.Count);
        if (network.Output.Size != labels.ClassNames.Count)
            throw new ArgumentException($"The network outputs {network.Output.Size} scores but label column '{_options.LabelColumnName}' has {labels.ClassNames.Count} classes.");
        var recipe = Recipe();
        var weights = modelParameters?.Weights ?? NetworkWeights.Initialize(network, recipe.Seed);

        var growth = _options.GrowthSchedule is { } schedule ? Training.GrowthSchedule.Parse(schedule) : null;
        var result = TrainingRun.Run(_host, "Training", network, weights, recipe, input, _options.ValidationSet, features, labels,
            _options.ToRunSettings(refit: false), growth);
        // A grown run's morphs (as applied) join the history; its last growth point's verification is the last morph report.
        var model = new MorphableImageClassifierModelParameters(result.Network ?? network, result.Weights, labels.ClassNames, recipe,
            [.. modelParameters?.MorphHistory ?? [], .. result.Growth.SelectMany(g => g.Report.Steps)],
            result.Growth.Count > 0 ? result.Growth[^1].Report : modelParameters?.LastMorphReport, result.History);
        return new MorphableImageClassifierTransformer(_host, model, _options.FeatureColumnName, features.Column.Type,
            _options.LabelColumnName, _options.ScoreColumnName, _options.PredictedLabelColumnName);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _host.CheckValue(inputSchema, nameof(inputSchema));
        return OutputSchema(_options, inputSchema);
    }

    /// <summary>The trainer's output schema: the input's columns plus Score and PredictedLabel.</summary>
    internal static SchemaShape OutputSchema(Options options, SchemaShape inputSchema)
    {
        if (!inputSchema.TryFindColumn(options.LabelColumnName, out var label))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{options.LabelColumnName}' not found.");
        if (!label.IsKey)
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Label column '{options.LabelColumnName}' must be a key type; add MapValueToKey.");
        if (!inputSchema.TryFindColumn(options.FeatureColumnName, out var features))
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{options.FeatureColumnName}' not found.");
        var columns = inputSchema.ToDictionary(c => c.Name);
        // A pixel vector without slot names passes on with them (PixelSlotNames).
        if (features.Kind == SchemaShape.Column.VectorKind.Vector && features.ItemType == NumberDataViewType.Single
            && !features.Annotations.TryFindColumn(AnnotationUtils.Kinds.SlotNames, out _))
            columns[features.Name] = new SchemaShape.Column(features.Name, features.Kind, features.ItemType, false,
                new SchemaShape([new SchemaShape.Column(AnnotationUtils.Kinds.SlotNames, SchemaShape.Column.VectorKind.Vector, TextDataViewType.Instance, false)]));
        var scoreAnnotations = new SchemaShape(AnnotationUtils.AnnotationsForMulticlassScoreColumn(label));
        columns[options.ScoreColumnName] = new SchemaShape.Column(options.ScoreColumnName, SchemaShape.Column.VectorKind.Vector,
            NumberDataViewType.Single, false, scoreAnnotations);
        var keyAnnotations = label.Annotations.TryFindColumn(AnnotationUtils.Kinds.KeyValues, out var keyValues)
            ? new SchemaShape([keyValues]) : new SchemaShape([]);
        columns[options.PredictedLabelColumnName] = new SchemaShape.Column(options.PredictedLabelColumnName, SchemaShape.Column.VectorKind.Scalar,
            NumberDataViewType.UInt32, true, keyAnnotations);
        return new SchemaShape(columns.Values);
    }

    /// <summary>
    /// The input shape: the options' ImageHeight, ImageWidth and ImageChannels where set (else <see cref="Options.Network"/>'s
    /// input), the rest inferred from the feature column (see <see cref="Options.ImageHeight"/>); what was inferred is logged,
    /// and colour images trained as one channel are warned about.
    /// </summary>
    internal static TensorShape ResolveShape(IHost host, Options options, IDataView input)
    {
        var declared = options.Network?.Input;
        int height = options.ImageHeight != 0 ? options.ImageHeight : declared?.Height ?? 0;
        int width = options.ImageWidth != 0 ? options.ImageWidth : declared?.Width ?? 0;
        int channels = options.ImageChannels != 0 ? options.ImageChannels : declared?.Channels ?? 0;
        var resolution = InputShape.Resolve(input, options.FeatureColumnName, height, width, channels);
        using var channel = host.Start("Input shape");
        if (resolution.Inferred is { } inferred)
            channel.Info($"Inferred {inferred}: the network takes {resolution.Shape.Channels}×{resolution.Shape.Height}×{resolution.Shape.Width} (channels×height×width).");
        if (resolution.Warning is { } warning)
            channel.Warning(warning);
        return resolution.Shape;
    }

    /// <summary>The network the options describe, with its output layer for <paramref name="classes"/> classes.</summary>
    internal static NetworkDescription BuildNetwork(Options options, TensorShape shape, int classes)
    {
        if (options.Network is { } network)
        {
            if (!network.Input.Equals(shape))
                throw new ArgumentException($"Options.Network takes {network.Input} but the images are {shape}.");
            return network;
        }
        var hidden = NetworkDescription.Parse(options.Architecture ?? DefaultArchitecture(shape.Height, shape.Width), shape);
        int dense = hidden.AllLayers().Count(l => l is DenseLayer) + 1;
        var output = new DenseLayer(hidden.UniqueName($"dense{dense}"), classes);
        return new NetworkDescription(shape, [.. hidden.Layers, output]);
    }

    private TrainingRecipe Recipe() => Recipe(_host, _options);

    /// <summary>The recipe of a training from scratch: the options over <see cref="Defaults"/>, seeded by the options or the MLContext.</summary>
    internal static TrainingRecipe Recipe(IHost host, ClassifierTrainingOptions options) =>
        options.ToRecipe(Defaults.Recipe(options.Seed ?? (host as IHostEnvironmentInternal)?.Seed ?? 0));
}
