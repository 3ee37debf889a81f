using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Classifier;

/// <summary>A trained parent model on synthetic vectors, shared by the classifier tests (training it once keeps them fast).</summary>
public sealed class ClassifierFixture
{
    public const string Architecture = "conv(6,3) relu maxpool(2) conv(8,3) bn relu maxpool(2) flatten dense(16) relu";

    public ClassifierFixture()
    {
        Ml = new MLContext(seed: 1);
        Train = Ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 24, seed: 1));
        Test = Ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 2));
        Pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(Options()))
            .Append(Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        Parent = Pipeline.Fit(Train);
    }

    public MLContext Ml { get; }

    public IDataView Train { get; }

    public IDataView Test { get; }

    public IEstimator<ITransformer> Pipeline { get; }

    public ITransformer Parent { get; }

    public static MorphableImageClassifierTrainer.Options Options() => new()
    {
        ImageHeight = SyntheticImages.Size,
        ImageWidth = SyntheticImages.Size,
        ImageChannels = 1,
        Architecture = Architecture,
        MaxEpoch = 4,
        BatchSize = 16,
        LearningRate = 0.05,
    };

    public static float[][] Scores(ITransformer model, IDataView data) =>
        model.Transform(data).GetColumn<float[]>("Score").ToArray();

    /// <summary>The largest absolute difference between two models' scores over all rows and classes.</summary>
    public static double MaxScoreDifference(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        return a.Zip(b).Max(row => row.First.Zip(row.Second).Max(s => Math.Abs(s.First - s.Second)));
    }
}

[CollectionDefinition(nameof(ClassifierCollection))]
public sealed class ClassifierCollection : ICollectionFixture<ClassifierFixture>;
