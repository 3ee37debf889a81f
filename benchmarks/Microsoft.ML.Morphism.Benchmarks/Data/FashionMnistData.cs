// Fashion-MNIST for the benchmarks: the IDX files as float rows and IDataViews, and the committed PNG subset through ML.NET's image transforms.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Benchmarks.Data;

/// <summary>Images as channels-first floats in [0, 1] (one array, row after row) and their class indices.</summary>
internal sealed record LabeledFeatures(float[] Features, long[] Labels)
{
    public int Count => Labels.Length;
}

internal static class FashionMnistData
{
    public const int ImageSize = FashionMnist.ImageSize;
    public const int Pixels = ImageSize * ImageSize;

    /// <summary>The first <paramref name="count"/> images of a split (all when null), from Debian's dataset-fashion-mnist IDX files.</summary>
    public static LabeledFeatures Load(FashionMnistSplit split, int? count = null)
    {
        LabeledImages data;
        try
        {
            data = FashionMnist.Load(split);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"{e.Message} The benchmarks read the real Fashion-MNIST files: `sudo apt-get install -y dataset-fashion-mnist`.", e);
        }
        int n = Math.Min(count ?? data.Images.Count, data.Images.Count);
        var features = new float[(long)n * Pixels];
        var pixels = data.Images.Pixels.Span;
        for (long i = 0; i < features.Length; i++)
            features[i] = pixels[(int)i] / 255f;
        return new LabeledFeatures(features, [.. data.Labels.Take(n).Select(l => (long)l)]);
    }

    /// <summary>
    /// An IDataView with a key <c>Label</c> and a 784-float <c>Features</c> vector, built the way a user
    /// loads in-memory data (<c>LoadFromEnumerable</c> over a list, then <c>MapValueToKey</c>). Keys are
    /// ordered by class index, so every view built here (train, test, PNG) agrees on them.
    /// </summary>
    public static IDataView ToDataView(MLContext ml, LabeledFeatures data)
    {
        var rows = new List<ImageRow>(data.Count);
        for (int i = 0; i < data.Count; i++)
            rows.Add(new ImageRow { Label = (uint)data.Labels[i], Features = data.Features.AsSpan(i * Pixels, Pixels).ToArray() });
        var view = ml.Data.LoadFromEnumerable(rows);
        return KeyByClassIndex(ml).Fit(view).Transform(view);
    }

    /// <summary>
    /// The committed PNG subset (examples/data/fashion-mnist/&lt;split&gt;) through the README's pipeline:
    /// LoadImages → ResizeImages → ConvertToGrayscale → ExtractPixels (lazy: every pass decodes the files).
    /// </summary>
    public static IDataView PngPipeline(MLContext ml, string split)
    {
        var rows = ImageFolder.Enumerate(RepositoryPaths.PngSubset, split)
            .Select(r => new PathRow { ImagePath = r.ImagePath, Label = (uint)FashionMnist.LabelOfFolder(r.Label) });
        var view = ml.Data.LoadFromEnumerable(rows.ToList());
        var pipeline = KeyByClassIndex(ml)
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", ImageSize, ImageSize))
            .Append(ml.Transforms.ConvertToGrayscale("Image"))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255));
        return pipeline.Fit(view).Transform(view);
    }

    private static ValueToKeyMappingEstimator KeyByClassIndex(MLContext ml) =>
        ml.Transforms.Conversion.MapValueToKey("Label", keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue);

    /// <summary>One in-memory example.</summary>
    public sealed class ImageRow
    {
        public uint Label { get; set; }

        [VectorType(Pixels)]
        public float[] Features { get; set; } = [];
    }

    /// <summary>One image file and the class index of its folder.</summary>
    public sealed class PathRow
    {
        public string ImagePath { get; set; } = "";

        public uint Label { get; set; }
    }
}
