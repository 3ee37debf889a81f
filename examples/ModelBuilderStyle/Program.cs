// ModelBuilderStyle: uses FashionClassifier as an app uses Model Builder's output — train (or reuse) and Predict — then grows the model and predicts again.
using System.CommandLine;
using Microsoft.ML;
using Microsoft.ML.Morphism.Samples;
using ModelBuilderStyle;

var outOption = new Option<string?>("--out")
{
    HelpName = "folder",
    Description = """
        where the model files are (default: next to the program, as Model Builder does);
        delete FashionClassifier.mlnet there to train again
        """,
};
var epochsOption = ExampleCommandLine.WholeNumber("--epochs", "training epochs (FashionClassifier.MaxEpoch)", FashionClassifier.MaxEpoch);
var growEpochsOption = ExampleCommandLine.WholeNumber("--grow-epochs", "refit epochs after the morph (FashionClassifier.GrowEpochs)", FashionClassifier.GrowEpochs);
var perClassOption = ExampleCommandLine.OptionalWholeNumber("--train-per-class", "train and refit on the first n images of each class only (default: all 200)");
var command = new RootCommand("""
    Trains FashionClassifier (or reuses the model file if it exists), predicts the first test image of each
    Fashion-MNIST class, grows the model (morph + refit) into FashionClassifier.grown.mlnet and predicts again.

    From the repository root: dotnet run -c Release --project examples/ModelBuilderStyle -- [options]
    """)
{
    outOption, epochsOption, growEpochsOption, perClassOption,
};

var settings = ExampleCommandLine.Parse(command, args, result => new
{
    Folder = Path.GetFullPath(result.GetValue(outOption) ?? AppContext.BaseDirectory),
    Epochs = result.GetValue(epochsOption),
    GrowEpochs = result.GetValue(growEpochsOption),
    PerClass = result.GetValue(perClassOption),
}, out var exitCode);
if (settings is null)
    return exitCode; // --help (0), or bad arguments (2)

try
{
    var folder = settings.Folder;
    Directory.CreateDirectory(folder);
    FashionClassifier.MLNetModelPath = Path.Combine(folder, "FashionClassifier.mlnet");

    // 1. Train, as Model Builder's "Train" step does (or reuse the model file from an earlier run).
    if (File.Exists(FashionClassifier.MLNetModelPath))
    {
        Console.WriteLine($"Reusing {FashionClassifier.MLNetModelPath} (delete it to train again).");
    }
    else
    {
        FashionClassifier.Train(FashionClassifier.MLNetModelPath, maxEpoch: settings.Epochs, imagesPerClass: settings.PerClass);
        Console.WriteLine($"Trained on {FashionClassifier.RetrainFolderPath} ({settings.Epochs} epochs) and saved {FashionClassifier.MLNetModelPath}.");
    }

    // 2. Consume, as the generated FashionClassifier.consumption.cs is meant to be used.
    var samples = ExampleData.TakePerClass(ImageFolder.Enumerate(ExampleData.SubsetFolder(), FashionMnistSubset.TestFolder), 1)
        .Select(row => (Input: new FashionClassifier.ModelInput { ImageSource = File.ReadAllBytes(row.ImagePath) }, Path: row.ImagePath, Class: row.Label))
        .ToList();
    var before = samples.Select(s => FashionClassifier.Predict(s.Input)).ToList();

    // 3. Grow: morph the saved model into a bigger one that starts out computing the same, then refit it.
    var mlContext = new MLContext(seed: 1);
    var trainData = FashionClassifier.LoadImageFolder(mlContext, FashionClassifier.RetrainFolderPath, settings.PerClass);
    var grownPath = Path.Combine(folder, "FashionClassifier.grown.mlnet");
    var growth = FashionClassifier.GrowPipeline(mlContext, trainData, FashionClassifier.MLNetModelPath, grownPath, plan: null, settings.GrowEpochs);
    Console.WriteLine($"Grew the model with {FashionClassifier.GrowPlan} and {settings.GrowEpochs} refit epochs into {grownPath}:");
    Console.WriteLine(growth.Report);
    Console.WriteLine();

    // 4. Consume the grown model the same way.
    var grownEngine = FashionClassifier.CreatePredictEngine(grownPath);
    var after = samples.Select(s => grownEngine.Predict(s.Input)).ToList();

    Console.WriteLine($"{"image",-26}{"class",-13}{"FashionClassifier",-26}grown");
    for (var i = 0; i < samples.Count; i++)
    {
        var image = Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(samples[i].Path))!, samples[i].Path);
        Console.WriteLine($"{image,-26}{samples[i].Class,-13}{Describe(before[i]),-26}{Describe(after[i])}");
    }
    Console.WriteLine($"Correct: FashionClassifier {Correct(before)}/{samples.Count}, grown {Correct(after)}/{samples.Count}");
    return 0;

    int Correct(List<FashionClassifier.ModelOutput> predictions) => predictions.Where((p, i) => p.PredictedLabel == samples[i].Class).Count();
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // A missing data folder, an unwritable --out folder, a damaged model file to reuse.
    Console.Error.WriteLine(e.Message);
    return 1;
}

static string Describe(FashionClassifier.ModelOutput output) => $"{output.PredictedLabel} ({output.Score.Max():F2})";
