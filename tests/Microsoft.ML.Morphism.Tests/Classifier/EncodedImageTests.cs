using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Tests.Reliability;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Tests.Classifier;

/// <summary>
/// Encoded image bytes as Model Builder gives them: the mbconfig-era <c>byte[] ImageSource</c> straight into the trainer,
/// and the older <c>LoadRawImageBytes</c> → <c>CopyColumns</c>; the image shape inferred; bad images named by row.
/// </summary>
public class EncodedImageTests
{
    private const string Architecture = "conv(6,3) relu maxpool(2) flatten dense(16) relu";

    /// <summary>Model Builder's generated input class (mbconfig era).</summary>
    public sealed class ModelInput
    {
        [ColumnName("Label")]
        public string Label { get; set; } = "";

        [ColumnName("ImageSource")]
        public byte[] ImageSource { get; set; } = [];
    }

    public sealed class ModelOutput
    {
        [ColumnName("PredictedLabel")]
        public string PredictedLabel { get; set; } = "";

        [ColumnName("Score")]
        public float[] Score { get; set; } = [];
    }

    private readonly MLContext _ml = new(seed: 1);
    private readonly List<(ChannelMessageKind Kind, string Message)> _log = [];

    public EncodedImageTests()
    {
        _ml.Log += (_, e) =>
        {
            lock (_log)
                _log.Add((e.Kind, e.Message));
        };
    }

    [Fact]
    public void ModelBuilderPipelineTrainsOnRawBytesWithTheShapeInferred()
    {
        var rows = Rows(perClass: 12, seed: 1, Encodings.Png);

        var model = MbconfigPipeline().Fit(_ml.Data.LoadFromEnumerable(rows));

        var classifier = _ml.Morphism().FindClassifier(model);
        Assert.Equal(TensorShape.Image(1, SyntheticImages.Size, SyntheticImages.Size), classifier.Network.Input);
        Assert.Contains(_log, l => l.Message.Contains("Inferred ImageHeight = 12, ImageWidth = 12", StringComparison.Ordinal)
            && l.Message.Contains("ImageChannels = 1 (the first 16 images are all grey)", StringComparison.Ordinal)
            && l.Message.Contains("feature column 'ImageSource'", StringComparison.Ordinal));
        var engine = _ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
        var test = Rows(perClass: 4, seed: 2, Encodings.Png);
        int correct = test.Count(r => engine.Predict(r).PredictedLabel == r.Label);
        Assert.True(correct >= test.Length * 3 / 4, $"{correct}/{test.Length} correct");
    }

    [Theory]
    [InlineData(Encodings.Png)]
    [InlineData(Encodings.Bmp)]
    public void LosslessEncodingsDecodeToExactlyThePixels(Encodings encoding)
    {
        var random = new Random(3);
        var pixels = SyntheticImages.Pixels(2, random);
        var data = _ml.Data.LoadFromEnumerable([new ModelInput { Label = "x", ImageSource = Encode(pixels, SyntheticImages.Size, encoding) }]);

        var read = ReadFeatures(data, TensorShape.Image(1, SyntheticImages.Size, SyntheticImages.Size));

        AssertPixels(pixels, read);
    }

    [Fact]
    public void JpegDecodesCloseToThePixelsAndABiggerImageIsResized()
    {
        var random = new Random(4);
        var pixels = SyntheticImages.Pixels(1, random);
        // The same picture at twice the size (every pixel a 2×2 block): the Fill resize's nearest pixel is the original.
        var doubled = new byte[4 * pixels.Length];
        for (int y = 0; y < 2 * SyntheticImages.Size; y++)
            for (int x = 0; x < 2 * SyntheticImages.Size; x++)
                doubled[y * 2 * SyntheticImages.Size + x] = pixels[y / 2 * SyntheticImages.Size + x / 2];
        var shape = TensorShape.Image(1, SyntheticImages.Size, SyntheticImages.Size);

        var jpeg = ReadFeatures(_ml.Data.LoadFromEnumerable([new ModelInput { ImageSource = Encode(pixels, SyntheticImages.Size, Encodings.Jpeg) }]), shape);
        var resized = ReadFeatures(_ml.Data.LoadFromEnumerable([new ModelInput { ImageSource = Encode(doubled, 2 * SyntheticImages.Size, Encodings.Png) }]), shape);

        Assert.True(jpeg.Zip(pixels).Max(p => Math.Abs(p.First - p.Second / 255f)) < 0.1, "JPEG at quality 100 stays within 0.1 of the pixels");
        AssertPixels(pixels, resized);
    }

    [Fact]
    public void ColourImagesInferThreeChannels()
    {
        var rows = Rows(perClass: 4, seed: 5, Encodings.Png, colour: true);

        var model = MbconfigPipeline(maxEpoch: 1).Fit(_ml.Data.LoadFromEnumerable(rows));

        Assert.Equal(3, _ml.Morphism().FindClassifier(model).Network.Input.Channels);
        Assert.Contains(_log, l => l.Message.Contains("ImageChannels = 3 (16 of the first 16 images are in colour)", StringComparison.Ordinal));
        Assert.DoesNotContain(_log, l => l.Kind == ChannelMessageKind.Warning && l.Message.Contains("luminance", StringComparison.Ordinal));
    }

    [Fact]
    public void ColourImagesWithOneChannelAreTrainedOnLuminanceWithAWarning()
    {
        var rows = Rows(perClass: 4, seed: 5, Encodings.Png, colour: true);

        var model = MbconfigPipeline(maxEpoch: 1, channels: 1).Fit(_ml.Data.LoadFromEnumerable(rows));

        Assert.Equal(1, _ml.Morphism().FindClassifier(model).Network.Input.Channels);
        Assert.Contains(_log, l => l.Kind == ChannelMessageKind.Warning
            && l.Message.Contains("ImageChannels = 1 but 16 of the first 16 images in column 'ImageSource' are in colour", StringComparison.Ordinal)
            && l.Message.Contains("Set ImageChannels = 3", StringComparison.Ordinal));
    }

    [Fact]
    public void AnUndecodableImageInTrainingNamesItsRow()
    {
        var rows = Rows(perClass: 6, seed: 6, Encodings.Png);
        rows[20].ImageSource = [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5, 6, 7, 8, 9];

        var e = Assert.Throws<InvalidDataException>(() => MbconfigPipeline(maxEpoch: 1).Fit(_ml.Data.LoadFromEnumerable(rows)));

        Assert.Contains("Row 20: the encoded image in column 'ImageSource' cannot be used", e.Message);
        Assert.Contains("13 bytes (starting 89504E4701020304…) are not an image ImageAnalytics can decode", e.Message);
    }

    [Fact]
    public void AnEmptyImageWhenScoringNamesItsRow()
    {
        var model = MbconfigPipeline(maxEpoch: 1).Fit(_ml.Data.LoadFromEnumerable(Rows(perClass: 4, seed: 7, Encodings.Png)));
        var rows = Rows(perClass: 2, seed: 8, Encodings.Png);
        rows[5].ImageSource = [];
        var scored = model.Transform(_ml.Data.LoadFromEnumerable(rows));

        // ML.NET's parallel cursors may score rows ahead of the consumer and wrap the row's exception.
        var e = Assert.ThrowsAny<Exception>(() => scored.GetColumn<float[]>("Score").ToArray());

        Assert.Contains("Row 5: the encoded image in column 'ImageSource' cannot be used: it holds no bytes (an empty image)", SavedModelFile.MessageChain(e));
    }

    [Fact]
    public void AnUndecodableImageIsThrownWhenTheConsumerReachesItsRowNotWhenItIsReadAhead()
    {
        var model = MbconfigPipeline(maxEpoch: 1).Fit(_ml.Data.LoadFromEnumerable(Rows(perClass: 4, seed: 7, Encodings.Png)));
        var rows = Rows(perClass: 10, seed: 10, Encodings.Png);
        rows[30].ImageSource = [1, 2, 3];
        var scored = model.Transform(_ml.Data.LoadFromEnumerable(rows));

        using var cursor = scored.GetRowCursor([scored.Schema["Score"]]);
        var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
        VBuffer<float> value = default;
        for (int i = 0; i < 30; i++)
        {
            Assert.True(cursor.MoveNext());
            score(ref value);
            Assert.All(value.DenseValues(), s => Assert.False(float.IsNaN(s)));
        }
        Assert.True(cursor.MoveNext());
        var e = Assert.Throws<InvalidDataException>(() => score(ref value));
        Assert.Contains("Row 30: the encoded image in column 'ImageSource' cannot be used", e.Message);
        // The rows after it are scored.
        Assert.True(cursor.MoveNext());
        score(ref value);
        Assert.Equal(1f, value.DenseValues().Sum(), 1e-5f);
    }

    [Fact]
    public void OlderModelBuilderPipelineReadsFilesAndABadFileIsNamed()
    {
        using var dir = new TempDirectory();
        var files = SyntheticImages.Files(dir.Path, perClass: 8, seed: 9, size: SyntheticImages.Size);
        var pipeline = _ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(_ml.Transforms.LoadRawImageBytes("ImageSource_featurized", null, "ImagePath"))
            .Append(_ml.Transforms.CopyColumns("Features", "ImageSource_featurized"))
            .Append(_ml.MulticlassClassification.Trainers.MorphableImageClassifier(labelColumnName: "Label", featureColumnName: "Features",
                architecture: Architecture, maxEpoch: 1, batchSize: 8));

        var model = pipeline.Fit(_ml.Data.LoadFromEnumerable(files));
        Assert.Equal(TensorShape.Image(1, SyntheticImages.Size, SyntheticImages.Size), _ml.Morphism().FindClassifier(model).Network.Input);

        File.WriteAllText(files[3].ImagePath, "not a picture");
        var e = Assert.Throws<InvalidDataException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(files)));
        Assert.Contains($"Row 3: the encoded image in column 'Features' (file '{files[3].ImagePath}', column 'ImagePath') cannot be used", e.Message);
    }

    [Fact]
    public void AModelOnEncodedBytesSavesLoadsAndDeclaresFormatVersion4()
    {
        var data = _ml.Data.LoadFromEnumerable(Rows(perClass: 4, seed: 10, Encodings.Png));
        var model = MbconfigPipeline(maxEpoch: 1).Fit(data);
        using var dir = new TempDirectory();
        var path = dir.File("model.zip");

        _ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext(seed: 2).Model.Load(path, out _);

        var test = _ml.Data.LoadFromEnumerable(Rows(perClass: 2, seed: 11, Encodings.Jpeg));
        Assert.Equal(ClassifierFixture.Scores(model, test), ClassifierFixture.Scores(loaded, test));
        Assert.IsType<VectorDataViewType>(_ml.Morphism().FindClassifier(loaded).FeatureColumnType);
        var (written, readable) = SavedModelFile.ClassifierVersion(path);
        Assert.Equal(0x00010004u, written);
        Assert.Equal(0x00010004u, readable);
    }

    public enum Encodings
    {
        Png,
        Jpeg,
        Bmp,
    }

    // The README's Model Builder pipeline (the catalog's short overload, no image sizes); with channels, the options form.
    private IEstimator<ITransformer> MbconfigPipeline(int maxEpoch = 3, int? channels = null) =>
        _ml.Transforms.Conversion.MapValueToKey(outputColumnName: "Label", inputColumnName: "Label")
            .Append(channels is null
                ? _ml.MulticlassClassification.Trainers.MorphableImageClassifier(labelColumnName: "Label", featureColumnName: "ImageSource",
                    architecture: Architecture, maxEpoch: maxEpoch, batchSize: 8)
                : _ml.MulticlassClassification.Trainers.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
                {
                    LabelColumnName = "Label",
                    FeatureColumnName = "ImageSource",
                    ImageChannels = channels.Value,
                    Architecture = Architecture,
                    MaxEpoch = maxEpoch,
                    BatchSize = 8,
                }))
            .Append(_ml.Transforms.Conversion.MapKeyToValue(outputColumnName: "PredictedLabel", inputColumnName: "PredictedLabel"));

    // One grey channel is luminance 0.299R + 0.587G + 0.114B of R = G = B: the pixel, up to float rounding.
    private static void AssertPixels(byte[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First / 255f, p.Second, 1e-6f));
    }

    private static float[] ReadFeatures(IDataView data, TensorShape shape)
    {
        var features = FeatureColumn.Bind(data.Schema, "ImageSource", shape);
        using var cursor = data.GetRowCursor(features.ReadColumns);
        var read = features.CreateReader(cursor);
        var values = new float[features.Size];
        Assert.True(cursor.MoveNext());
        Assert.True(read(values));
        return values;
    }

    private static ModelInput[] Rows(int perClass, int seed, Encodings encoding, bool colour = false)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, perClass * SyntheticImages.Classes.Length).Select(i => new ModelInput
        {
            Label = SyntheticImages.Classes[i % SyntheticImages.Classes.Length],
            ImageSource = Encode(SyntheticImages.Pixels(i % SyntheticImages.Classes.Length, random), SyntheticImages.Size, encoding, colour),
        })];
    }

    /// <summary>A grey picture (or, with <paramref name="colour"/>, the same picture tinted red) as an encoded file.</summary>
    private static byte[] Encode(byte[] grey, int size, Encodings encoding, bool colour = false)
    {
        var bgra = new byte[grey.Length * 4];
        for (int i = 0; i < grey.Length; i++)
        {
            bgra[4 * i] = colour ? (byte)(grey[i] / 2) : grey[i];
            bgra[4 * i + 1] = colour ? (byte)(grey[i] / 2) : grey[i];
            bgra[4 * i + 2] = grey[i];
            bgra[4 * i + 3] = byte.MaxValue;
        }
        if (encoding == Encodings.Bmp)
            return Bmp(bgra, size);
        using var dir = new TempDirectory();
        var path = dir.File(encoding == Encodings.Png ? "image.png" : "image.jpg");
        using (var image = MLImage.CreateFromPixels(size, size, MLPixelFormat.Bgra32, bgra))
            image.Save(path);
        return File.ReadAllBytes(path);
    }

    /// <summary>A 24-bit bottom-up BMP (SkiaSharp decodes BMP but does not encode it).</summary>
    private static byte[] Bmp(byte[] bgra, int size)
    {
        int stride = (size * 3 + 3) & ~3;
        int imageBytes = stride * size;
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        writer.Write((byte)'B');
        writer.Write((byte)'M');
        writer.Write(14 + 40 + imageBytes);
        writer.Write(0);
        writer.Write(14 + 40);
        writer.Write(40);
        writer.Write(size);
        writer.Write(size);
        writer.Write((short)1);
        writer.Write((short)24);
        writer.Write(0);
        writer.Write(imageBytes);
        writer.Write(2835);
        writer.Write(2835);
        writer.Write(0);
        writer.Write(0);
        for (int y = size - 1; y >= 0; y--)
        {
            for (int x = 0; x < size; x++)
            {
                int i = 4 * (y * size + x);
                writer.Write(bgra[i]);
                writer.Write(bgra[i + 1]);
                writer.Write(bgra[i + 2]);
            }
            for (int pad = size * 3; pad < stride; pad++)
                writer.Write((byte)0);
        }
        writer.Flush();
        return stream.ToArray();
    }
}
