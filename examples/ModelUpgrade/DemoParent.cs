// --make-demo-parent: trains the README's small CNN on the committed Fashion-MNIST subset and saves it, so there is a model to upgrade.
using Microsoft.ML;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Transforms.Image;

namespace ModelUpgradeCli;

internal static class DemoParent
{
    /// <summary>Trains the parent on <c>&lt;data&gt;/train</c> and saves it (atomically) to <see cref="DemoParentSettings.Out"/>.</summary>
    public static void Make(DemoParentSettings settings)
    {
        var ml = new MLContext(seed: 1);
        var rows = ExampleData.TakePerClass(ImageFolder.Enumerate(settings.Data, FashionMnistSubset.TrainFolder), settings.TrainPerClass);
        IDataView train = ml.Data.LoadFromEnumerable(rows);

        // The same pipeline as the README's: it takes rows of ImagePath + Label, which is what --refit-data gives it.
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(ml.Transforms.ConvertToGrayscale("Image"))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
            {
                ImageHeight = 28, ImageWidth = 28, ImageChannels = 1,
                Architecture = "conv(16,3) relu maxpool(2) conv(32,3) relu maxpool(2) flatten dense(64) relu",
                MaxEpoch = settings.Epochs, BatchSize = 64,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var parent = pipeline.Fit(train);

        var directory = Path.GetDirectoryName(settings.Out);
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        ml.Morphism().SaveModel(parent, train.Schema, settings.Out);
        Console.WriteLine($"Trained a demo parent on {rows.Count} images of {settings.Data} ({settings.Epochs} epochs) "
            + $"and saved it to {settings.Out}.");
        Console.WriteLine(ml.Morphism().FindClassifier(parent).Network.Summary());
        Console.WriteLine($"Upgrade it with: ModelUpgrade --model {settings.Out} --plan \"deepen(conv2) widen(conv1, 32) kernel(conv2, 5)\" "
            + $"(writes {Path.GetFullPath(CommandLine.DefaultOut)}; --out to choose)");
    }
}
