using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Classifier;

/// <summary>Every kind of bad input named in the design gets a clear managed exception that names the problem.</summary>
[Collection(nameof(ClassifierCollection))]
public class BadInputTests(ClassifierFixture fixture)
{
    private MLContext Ml => fixture.Ml;

    private sealed class TextLabelRow
    {
        [VectorType(144)]
        public float[] Features { get; set; } = new float[144];

        public string Label { get; set; } = "a";
    }

    [Fact]
    public void FeatureVectorOfTheWrongLengthIsRejected()
    {
        var options = ClassifierFixture.Options();
        options.ImageHeight = 10;
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label").Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options));

        var e = Assert.ThrowsAny<ArgumentException>(() => pipeline.Fit(fixture.Train));

        Assert.Contains("holds 144 values per row but the network takes 1×10×12 = 120", e.Message);
    }

    [Fact]
    public void MissingFeatureColumnIsRejected()
    {
        var options = ClassifierFixture.Options();
        options.FeatureColumnName = "Pixels";
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label").Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options));

        var e = Assert.ThrowsAny<ArgumentException>(() => pipeline.Fit(fixture.Train));

        Assert.Contains("Feature column 'Pixels' not found", e.Message);
    }

    [Fact]
    public void WrongFeatureTypeIsRejected()
    {
        var options = ClassifierFixture.Options();
        options.FeatureColumnName = "Label";
        var trainer = Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options);
        var data = Ml.Transforms.Conversion.MapValueToKey("Key", "Label").Fit(fixture.Train).Transform(fixture.Train);
        options.LabelColumnName = "Key";

        var e = Assert.ThrowsAny<ArgumentException>(() => Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options).Fit(data));

        Assert.Contains("Feature column 'Label' has type String", e.Message);
    }

    [Fact]
    public void LabelThatIsNotAKeyIsRejectedWithTheFix()
    {
        var trainer = Ml.MulticlassClassification.Trainers.MorphableImageClassifier(ClassifierFixture.Options());

        var e = Assert.ThrowsAny<ArgumentException>(() => trainer.Fit(fixture.Train));

        Assert.Contains("Label column 'Label' has type String; it must be a key type", e.Message);
        Assert.Contains("MapValueToKey", e.Message);
    }

    [Fact]
    public void MissingImageShapeOfAPixelVectorIsRejected()
    {
        var options = ClassifierFixture.Options();
        options.ImageWidth = 0;

        var e = Assert.ThrowsAny<ArgumentException>(() => Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)).Fit(fixture.Train));

        // A pixel vector carries no height and width (images and encoded bytes do: they are inferred).
        Assert.Contains("Set ImageHeight and ImageWidth: feature column 'Features' is a vector of Single pixels", e.Message);
    }

    [Fact]
    public void InvalidArchitectureTextIsRejectedWithItsPosition()
    {
        var options = ClassifierFixture.Options();
        options.Architecture = "conv(6,3) relu maxpool(2) flaten dense(4)";

        var e = Assert.Throws<FormatException>(() => Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)).Fit(fixture.Train));

        Assert.Contains("unknown layer kind 'flaten'", e.Message);
    }

    [Fact]
    public void UnknownLayerInAMorphPlanIsRejectedListingTheLayers()
    {
        var grow = fixture.Parent.Morph(Ml, m => m.Widen("conv9", 16), new RefitOptions { MaxEpoch = 0 });

        var e = Assert.ThrowsAny<ArgumentException>(() => grow.Fit(fixture.Train));

        Assert.Contains("no layer named 'conv9'", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("conv1", e.Message);
    }

    [Fact]
    public void ShrinkingMorphIsRejected()
    {
        var grow = fixture.Parent.Morph(Ml, m => m.Widen("conv1", 4), new RefitOptions { MaxEpoch = 0 });

        var e = Assert.ThrowsAny<ArgumentException>(() => grow.Fit(fixture.Train));

        Assert.Contains("conv1", e.Message);
    }

    [Fact]
    public void ModelWithoutAMorphableClassifierIsRejected()
    {
        var other = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(fixture.Train);

        var e = Assert.Throws<ArgumentException>(() => other.Morph(Ml, m => m.Widen("conv1", 16)));

        Assert.Contains("contains no MorphableImageClassifierTransformer", e.Message);
        Assert.Contains("ValueToKeyMappingTransformer", e.Message);
    }

    [Fact]
    public void CorruptModelFileIsRejectedByUpgradeModel()
    {
        using var dir = new TempDirectory();
        var path = dir.File("broken.zip");
        File.WriteAllBytes(path, [0x50, 0x4b, 0x03, 0x04, 1, 2, 3]);

        var e = Assert.Throws<InvalidDataException>(() => Ml.Morphism().UpgradeModel(path, dir.File("out.zip"), new MorphPlan().Widen("conv1", 8)));

        Assert.Contains("is not a valid ML.NET model or is damaged", e.Message);
        Assert.False(File.Exists(dir.File("out.zip")));
    }

    [Fact]
    public void RefitWithoutDataIsRejected()
    {
        using var dir = new TempDirectory();
        var path = dir.File("parent.zip");
        Ml.Model.Save(fixture.Parent, fixture.Train.Schema, path);

        var e = Assert.Throws<ArgumentException>(() => Ml.Morphism().UpgradeModel(path, dir.File("out.zip"), new MorphPlan().Widen("conv1", 8), refit: new RefitOptions { MaxEpoch = 2 }));

        Assert.Contains("Refitting needs data", e.Message);
    }
}
