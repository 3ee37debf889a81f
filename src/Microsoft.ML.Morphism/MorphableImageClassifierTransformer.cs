// The fitted classifier: scores images with a morphable TorchSharp network inside ML.NET pipelines, and saves to/loads from .zip.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Internal;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(MorphableImageClassifierTransformer), null, typeof(SignatureLoadModel),
    MorphableImageClassifierTransformer.UserName, MorphableImageClassifierTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(MorphableImageClassifierTransformer), null, typeof(SignatureLoadRowMapper),
    MorphableImageClassifierTransformer.UserName, MorphableImageClassifierTransformer.LoaderSignature)]

namespace Microsoft.ML.Morphism;

/// <summary>
/// A trained (or morphed) image classifier. Adds two columns:
/// <list type="table">
/// <item><term><c>Score</c></term><description>vector of Single, one probability per class (softmax of the logits); slot names = class names.</description></item>
/// <item><term><c>PredictedLabel</c></term><description>key over the class names (the most likely class; missing when a score is NaN).</description></item>
/// <item><term>the feature column</term><description>a pixel vector without slot names (<c>ExtractPixels</c>' output) passes on unchanged
/// under its own name with slot names <c>c{channel}_y{row}_x{column}</c>, so that ML.NET's permutation feature importance,
/// which reads them, works on the whole pipeline.</description></item>
/// </list>
/// Input: the feature column the trainer saw (a channels-first Single vector of C·H·W values, an
/// H×W Image, or encoded image bytes, decoded and resized to H×W). Saved by <c>ml.Model.Save</c> and rebuilt by <c>ml.Model.Load</c> like ML.NET's own
/// transformers; grow it with <c>Morph()</c> (see <see cref="MorphExtensions"/>).
/// <para>Scoring reads only the feature column: the label column may be absent or hold values never
/// seen in training. A row with a NaN or infinite feature value scores NaN in every slot and a
/// missing PredictedLabel (key 0), whatever the network would make of it; other rows are unaffected.
/// A feature column of the wrong declared size fails when the transformer binds to it
/// (<see cref="ArgumentOutOfRangeException"/>); a variable-size vector or unsized image of the wrong
/// size fails at its row (<see cref="InvalidOperationException"/>). The transformer may be used from
/// several threads at once (separate cursors, one PredictionEngine per thread).</para>
/// </summary>
public sealed class MorphableImageClassifierTransformer : RowToRowTransformerBase,
    ISingleFeaturePredictionTransformer<MorphableImageClassifierModelParameters>, ISingleFeaturePredictionTransformer, ITransformer
{
    internal const string LoaderSignature = "MorphImageClassifier";
    internal const string UserName = "Morphable Image Classifier";

    internal MorphableImageClassifierTransformer(IHostEnvironment env, MorphableImageClassifierModelParameters model,
        string featureColumnName, DataViewType featureColumnType, string labelColumnName, string scoreColumnName, string predictedLabelColumnName)
        : base(Contracts.CheckRef(env, nameof(env)).Register(nameof(MorphableImageClassifierTransformer)))
    {
        Model = model;
        FeatureColumnName = featureColumnName;
        FeatureColumnType = featureColumnType;
        LabelColumnName = labelColumnName;
        ScoreColumnName = scoreColumnName;
        PredictedLabelColumnName = predictedLabelColumnName;
    }

    /// <summary>The network, weights, class names, recipe and morph history.</summary>
    public MorphableImageClassifierModelParameters Model { get; }

    /// <summary>The feature column read when scoring.</summary>
    public string FeatureColumnName { get; }

    /// <summary>The feature column's type at training time.</summary>
    public DataViewType FeatureColumnType { get; }

    /// <summary>The label column the classifier was trained on (refits read it).</summary>
    public string LabelColumnName { get; }

    /// <summary>The score column written.</summary>
    public string ScoreColumnName { get; }

    /// <summary>The predicted-label column written.</summary>
    public string PredictedLabelColumnName { get; }

    /// <summary>The network description (shortcut for <c>Model.Network</c>).</summary>
    public NetworkDescription Network => Model.Network;

    /// <summary>The morphs that produced this classifier, oldest first.</summary>
    public IReadOnlyList<MorphStep> MorphHistory => Model.MorphHistory;

    /// <summary>The preservation report of the last morph, or null.</summary>
    public MorphReport? LastMorphReport => Model.LastMorphReport;

    /// <summary>A copy with other model parameters and the same columns.</summary>
    internal MorphableImageClassifierTransformer WithModel(MorphableImageClassifierModelParameters model) =>
        new(Host, model, FeatureColumnName, FeatureColumnType, LabelColumnName, ScoreColumnName, PredictedLabelColumnName);

    internal IHost HostEnvironment => Host;

    // Format versions: 0x00010001 = version 1 (network/weights/labels/recipe/history parts with checksums);
    // 0x00010002 = version 2 (the recipe may hold ActivationLearningRateFactor, which version-1 readers refuse as an
    // unknown member: they must say "too new" instead). Version 1 recipes read with the factor's default, 1.
    // 0x00010003 = version 3 (an optional Lineage part: a grown model's search history; the recipe may hold
    // GrowthRampEpochs and ActivationAnnealEpochs). Version-2 readers load a lineage-only version-3 model without its
    // lineage, so such models declare version 2 as the oldest reader; a recipe with the new knobs declares version 3.
    // 0x00010004 = version 4 (feature kind 2: encoded image bytes; the recipe may hold EarlyStoppingMetric and
    // EarlyStoppingMinDelta; only models using one of them declare version 4 as the oldest reader).
    internal const uint FormatVersion = 0x00010004;

    private static VersionInfo GetVersionInfo(uint readableBy = FormatVersion) => new(
        modelSignature: "MRPHIMGC",
        verWrittenCur: FormatVersion,
        verReadableCur: readableBy,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(MorphableImageClassifierTransformer).Assembly.FullName);

    /// <summary>Writes the classifier into an ML.NET model (called by <c>ml.Model.Save</c>).</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        bool version3Recipe = Model.Recipe.GrowthRampEpochs != 0 || Model.Recipe.ActivationAnnealEpochs != 0;
        bool version4 = FeatureColumn.KindOf(FeatureColumnType) == FeatureKind.EncodedImage || Model.Recipe.HasEarlyStoppingCriteria;
        ctx.SetVersionInfo(GetVersionInfo(readableBy: version4 ? 0x00010004u : version3Recipe ? 0x00010003u : 0x00010002u));
        // *** Binary format (versions 1 to 4; 2 differs in the recipe's JSON, 3 may add a Lineage part, 4 adds feature kind 2) ***
        // string: feature, label, score, predicted-label column names
        // byte: feature kind (0 = Single vector, 1 = Image, 2 = encoded image bytes); int: vector size or image height, int: image width
        // parts (ModelPart envelopes): Network, Weights, Labels, Recipe, History[, Lineage]
        ctx.SaveNonEmptyString(FeatureColumnName);
        ctx.SaveNonEmptyString(LabelColumnName);
        ctx.SaveNonEmptyString(ScoreColumnName);
        ctx.SaveNonEmptyString(PredictedLabelColumnName);
        if (FeatureColumnType is ImageDataViewType image)
        {
            ctx.Writer.Write((byte)1);
            ctx.Writer.Write(image.Height);
            ctx.Writer.Write(image.Width);
        }
        else if (FeatureColumn.KindOf(FeatureColumnType) == FeatureKind.EncodedImage)
        {
            ctx.Writer.Write((byte)2);
            ctx.Writer.Write(0);
            ctx.Writer.Write(0);
        }
        else
        {
            ctx.Writer.Write((byte)0);
            ctx.Writer.Write(FeatureColumnType.GetValueCount());
            ctx.Writer.Write(0);
        }
        Model.Save((name, write) => ctx.SaveBinaryStream(name, write));
    }

    // Factory method for SignatureLoadModel.
    private static MorphableImageClassifierTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel(GetVersionInfo());
        Persistence.ZipEntryCheck.RefuseDuplicates(ctx.Repository);
        Persistence.ZipEntryCheck.RefuseOversizedParts(ctx.Repository, ctx.Directory, Persistence.ModelPartsFormat.AllParts);
        var feature = ctx.LoadNonEmptyString();
        var label = ctx.LoadNonEmptyString();
        var score = ctx.LoadNonEmptyString();
        var predicted = ctx.LoadNonEmptyString();
        byte kind = ctx.Reader.ReadByte();
        int a = ctx.Reader.ReadInt32(), b = ctx.Reader.ReadInt32();
        if (kind > 2 || a < 0 || b < 0 || (kind == 2 && (a != 0 || b != 0)))
            throw new InvalidDataException($"The classifier's column header is corrupt (feature kind {kind}, sizes {a}×{b}).");
        var model = MorphableImageClassifierModelParameters.Load((name, read) =>
        {
            object? result = null;
            return ctx.TryLoadBinaryStream(name, r => result = read(r)) ? result : null;
        });
        // Sizes are 0 when the training column's size was unknown (variable vectors, unsized images).
        var input = model.Network.Input;
        if (kind == 0 && (b != 0 || (a != 0 && a != input.Size)))
            throw new InvalidDataException($"The classifier's column header is corrupt: it declares a vector of {a} values but the network takes {input}.");
        if (kind == 1 && (a != 0 || b != 0) && (a != input.Height || b != input.Width))
            throw new InvalidDataException($"The classifier's column header is corrupt: it declares {b}×{a} images but the network takes {input}.");
        DataViewType featureType = kind switch
        {
            1 => new ImageDataViewType(a, b),
            2 => new VectorDataViewType(NumberDataViewType.Byte),
            _ => new VectorDataViewType(NumberDataViewType.Single, a),
        };
        return new MorphableImageClassifierTransformer(env, model, feature, featureType, label, score, predicted);
    }

    // Factory method for SignatureLoadRowMapper.
    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>The predicted class key of a row's scores: 1 + the index of the largest, or 0 (missing) when a score is NaN.</summary>
    internal static uint PredictedKey(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (float.IsNaN(scores[i]))
                return 0;
            if (scores[i] > scores[best])
                best = i;
        }
        return (uint)best + 1;
    }

    /// <summary>
    /// Scores <paramref name="input"/>: the same columns, rows and values as ML.NET's row-by-row mapping, but a cursor over
    /// Score or PredictedLabel scores batches of rows read ahead (<see cref="Scoring.BatchedScoringView"/>); a
    /// <c>PredictionEngine</c> still scores one row per call.
    /// </summary>
    public new IDataView Transform(IDataView input)
    {
        Host.CheckValue(input, nameof(input));
        var rowByRow = MakeDataTransform(input);
        var features = FeatureColumn.Bind(input.Schema, FeatureColumnName, Model.Network.Input);
        string[] outputs = PixelSlotNames.Needed(features)
            ? [ScoreColumnName, PredictedLabelColumnName, features.Column.Name]
            : [ScoreColumnName, PredictedLabelColumnName];
        return new Scoring.BatchedScoringView(rowByRow, Model, features, outputs);
    }

    IDataView ITransformer.Transform(IDataView input) => Transform(input);

    /// <summary>The row mapper that scores rows of <paramref name="schema"/> (ML.NET plumbing).</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private sealed class Mapper : MapperBase
    {
        private readonly MorphableImageClassifierTransformer _parent;
        private readonly FeatureColumn _features;
        private readonly int _classes;
        // The pixel vector passes on under its own name with slot names (see PixelSlotNames), as a third output column.
        private readonly bool _slotNamedFeatures;

        public Mapper(MorphableImageClassifierTransformer parent, DataViewSchema schema)
            : base(parent.Host, schema, parent)
        {
            _parent = parent;
            _features = FeatureColumn.Bind(schema, parent.FeatureColumnName, parent.Model.Network.Input);
            _classes = parent.Model.ClassNames.Length;
            _slotNamedFeatures = PixelSlotNames.Needed(_features);
            // Scoring's first convolution comes after this (a loaded model has passed its load-time checks by now).
            using (var channel = parent.Host.Start("Numerics"))
                NumericsLog.Ensure(channel, parent.Model.Network);
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            var names = new VBuffer<ReadOnlyMemory<char>>(_classes, [.. _parent.Model.ClassNames.Select(n => n.AsMemory())]);
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> getNames = (ref VBuffer<ReadOnlyMemory<char>> dst) => names.CopyTo(ref dst);
            var namesType = new VectorDataViewType(TextDataViewType.Instance, _classes);

            var score = new DataViewSchema.Annotations.Builder();
            score.Add(AnnotationUtils.Kinds.SlotNames, namesType, getNames);
            score.Add(AnnotationUtils.Kinds.ScoreColumnKind, TextDataViewType.Instance,
                (ref ReadOnlyMemory<char> v) => v = AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification.AsMemory());
            score.Add(AnnotationUtils.Kinds.ScoreValueKind, TextDataViewType.Instance,
                (ref ReadOnlyMemory<char> v) => v = AnnotationUtils.Const.ScoreValueKind.Score.AsMemory());

            var predicted = new DataViewSchema.Annotations.Builder();
            predicted.Add(AnnotationUtils.Kinds.KeyValues, namesType, getNames);
            predicted.Add(AnnotationUtils.Kinds.ScoreColumnKind, TextDataViewType.Instance,
                (ref ReadOnlyMemory<char> v) => v = AnnotationUtils.Const.ScoreColumnKind.MulticlassClassification.AsMemory());
            predicted.Add(AnnotationUtils.Kinds.ScoreValueKind, TextDataViewType.Instance,
                (ref ReadOnlyMemory<char> v) => v = AnnotationUtils.Const.ScoreValueKind.PredictedLabel.AsMemory());

            DataViewSchema.DetachedColumn[] columns =
            [
                new DataViewSchema.DetachedColumn(_parent.ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, _classes), score.ToAnnotations()),
                new DataViewSchema.DetachedColumn(_parent.PredictedLabelColumnName, new KeyDataViewType(typeof(uint), _classes), predicted.ToAnnotations()),
            ];
            return _slotNamedFeatures ? [.. columns, PixelSlotNames.FeatureColumn(_features.Column, _parent.Model.Network.Input)] : columns;
        }

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
        {
            disposer = null;
            if (iinfo == 2)
                return PixelSlotNames.Getter(input, _features.Column);
            var row = new RowScores(input, _features, _parent.Model, _classes);
            if (iinfo == 0)
            {
                ValueGetter<VBuffer<float>> score = (ref VBuffer<float> dst) =>
                {
                    var scores = row.Current();
                    var editor = VBufferEditor.Create(ref dst, _classes);
                    scores.CopyTo(editor.Values);
                    dst = editor.Commit();
                };
                return score;
            }
            ValueGetter<uint> predicted = (ref uint dst) => dst = row.PredictedKey();
            return predicted;
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
        {
            var read = _features.ReadColumns.Select(c => c.Index).ToHashSet();
            return col => read.Contains(col) && (activeOutput(0) || activeOutput(1) || (_slotNamedFeatures && activeOutput(2)));
        }

        protected override void SaveModel(ModelSaveContext ctx) => _parent.SaveModel(ctx);
    }

    /// <summary>Scores the current row once, however many output columns ask for it.</summary>
    private sealed class RowScores(DataViewRow input, FeatureColumn features, MorphableImageClassifierModelParameters model, int classes)
    {
        private readonly Func<Span<float>, bool> _read = features.CreateReader(input);
        private readonly float[] _pixels = new float[features.Size];
        private readonly float[] _scores = new float[classes];
        private long _position = -1;

        public float[] Current()
        {
            if (_position == input.Position)
                return _scores;
            if (_read(_pixels))
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var x = tensor(_pixels, model.Network.Input.WithBatch(1));
                var probabilities = nn.functional.softmax(model.ScoringModule.forward(x), 1);
                probabilities.data<float>().CopyTo(_scores);
            }
            else
            {
                Array.Fill(_scores, float.NaN);
            }
            _position = input.Position;
            return _scores;
        }

        public uint PredictedKey() => MorphableImageClassifierTransformer.PredictedKey(Current());
    }
}
