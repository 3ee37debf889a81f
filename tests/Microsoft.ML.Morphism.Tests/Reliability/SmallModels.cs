// Tiny trained pipelines for the reliability tests: seconds to train, every kind of part and history filled in.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

internal static class SmallModels
{
    public const string Architecture = "conv(4,3) relu maxpool(2) flatten";

    public static MorphableImageClassifierTrainer.Options Options(int epochs = 1) => new()
    {
        ImageHeight = SyntheticImages.Size,
        ImageWidth = SyntheticImages.Size,
        Architecture = Architecture,
        MaxEpoch = epochs,
        BatchSize = 8,
    };

    /// <summary>MapValueToKey → classifier → MapKeyToValue, trained on synthetic vectors.</summary>
    public static ITransformer Train(MLContext ml, IDataView data, MorphableImageClassifierTrainer.Options? options = null) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options ?? Options()))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);

    /// <summary>The classifier's scores, all rows concatenated.</summary>
    public static float[] Scores(ITransformer model, IDataView data) =>
        [.. model.Transform(data).GetColumn<float[]>("Score").SelectMany(row => row)];

    /// <summary>Saves like a user would (atomically) and returns the bytes.</summary>
    public static byte[] Save(MLContext ml, ITransformer model, DataViewSchema schema, string path)
    {
        ml.Morphism().SaveModel(model, schema, path);
        return File.ReadAllBytes(path);
    }
}
