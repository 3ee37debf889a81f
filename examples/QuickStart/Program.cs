// QuickStart: the README's "Using it" code on the committed Fashion-MNIST subset — train, morph + refit, evaluate, save, load.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Morphism;
using Microsoft.ML.Transforms.Image;
using QuickStart;

QuickStartSettings settings;
try
{
    if (QuickStartSettings.Parse(args, out var exitCode) is not { } parsed)
        return exitCode; // --help (0), or bad arguments (2)
    settings = parsed;
}
catch (DirectoryNotFoundException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

try
{
    var ml = new MLContext(seed: 1);
    // Rows of (ImagePath, Label): absolute paths of the PNG files, and their class folder's name.
    IDataView train = ml.Data.LoadFromEnumerable(settings.Rows("train"));
    IDataView test = ml.Data.LoadFromEnumerable(settings.Rows("test"));
    Console.WriteLine($"Data: {settings.Data} ({train.GetRowCount()} training, {test.GetRowCount()} test images)");
    var clock = Stopwatch.StartNew();

    // ---- The README's code ----------------------------------------------------------------------
    var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
        .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
        .Append(ml.Transforms.ResizeImages("Image", 28, 28))
        .Append(ml.Transforms.ConvertToGrayscale("Image"))
        .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
        .Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(
            new MorphableImageClassifierTrainer.Options { ImageHeight = 28, ImageWidth = 28, ImageChannels = 1,
                Architecture = "conv(16,3) relu maxpool(2) conv(32,3) relu maxpool(2) flatten dense(64) relu", // the output layer is sized to the label count
                MaxEpoch = settings.Epochs, BatchSize = 64 }))
        .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
    ITransformer parent = pipeline.Fit(train);
    Console.WriteLine($"Trained the parent: {settings.Epochs} epochs, {clock.Elapsed.TotalSeconds:F1} s");
    clock.Restart();

    // morph + refit: an estimator like any other
    IEstimator<ITransformer> grow = parent.Morph(ml, m => m.Deepen(after: "conv2").Widen("conv1", 32).EnlargeKernel("conv2", 5),
                                                 new RefitOptions { MaxEpoch = settings.RefitEpochs });
    ITransformer child = grow.Fit(train);          // MaxEpoch = 0: morph only, scores equal the parent's
    Console.WriteLine($"Morphed and refit the child: {settings.RefitEpochs} epochs, {clock.Elapsed.TotalSeconds:F1} s");

    var childPath = Path.Combine(settings.Out, "child.zip");
    Directory.CreateDirectory(settings.Out);
    ml.Model.Save(child, train.Schema, childPath);
    var loaded = ml.Model.Load(childPath, out var schema);  // stock API, no registration call
    // ---------------------------------------------------------------------------------------------

    // The same morph without a refit shows what "function-preserving" means: the child starts where the parent is.
    ITransformer morphedOnly = parent.Morph(ml, m => m.Deepen(after: "conv2").Widen("conv1", 32).EnlargeKernel("conv2", 5),
                                            new RefitOptions { MaxEpoch = 0 }).Fit(train);
    var childClassifier = ml.Morphism().FindClassifier(child);

    Console.WriteLine();
    Console.WriteLine("Parent network:");
    Console.WriteLine(ml.Morphism().FindClassifier(parent).Network.Summary());
    Console.WriteLine("Child network:");
    Console.WriteLine(childClassifier.Network.Summary(before: ml.Morphism().FindClassifier(parent).Network));
    Console.WriteLine("Morph report (parent vs. morphed child, before the refit):");
    Console.WriteLine(childClassifier.LastMorphReport);
    Console.WriteLine();
    Console.WriteLine("Test accuracy:");
    Console.WriteLine($"  {"parent",-32}{Accuracy(ml, parent, test):P2}");
    Console.WriteLine($"  {"child right after the morph",-32}{Accuracy(ml, morphedOnly, test):P2}");
    Console.WriteLine($"  {$"child after {settings.RefitEpochs} refit epoch(s)",-32}{Accuracy(ml, child, test):P2}");
    Console.WriteLine();

    Console.WriteLine($"Saved {childPath} ({new FileInfo(childPath).Length:N0} bytes); loaded it back: "
        + $"test accuracy {Accuracy(ml, loaded, test):P2}, input columns {string.Join(", ", schema.Select(c => c.Name))}");
    var first = settings.Rows("test")[0];
    var prediction = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(loaded).Predict(new ImageInput { ImagePath = first.ImagePath });
    Console.WriteLine($"Loaded model on {Path.GetFileName(first.ImagePath)} (class {first.Label}): {prediction.PredictedLabel}, score {prediction.Score.Max():F3}");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // A missing data folder (DirectoryNotFoundException), an unwritable --out folder.
    Console.Error.WriteLine(e.Message);
    return 1;
}

static double Accuracy(MLContext ml, ITransformer model, IDataView data) =>
    ml.MulticlassClassification.Evaluate(model.Transform(data)).MicroAccuracy;

/// <summary>One image to classify.</summary>
internal sealed class ImageInput
{
    public string ImagePath { get; set; } = "";

    /// <summary>The model's input schema has it (MapValueToKey reads it), but predicting does not need it: empty is fine.</summary>
    public string Label { get; set; } = "";
}

/// <summary>What the model says about one image.</summary>
internal sealed class ImagePrediction
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}
