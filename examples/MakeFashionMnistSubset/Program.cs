// Writes the Fashion-MNIST subset the examples ship with (examples/data/fashion-mnist) from the IDX files.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

var dataOption = new Option<string>("--data")
{
    HelpName = "folder",
    Description = "folder of the IDX files",
    DefaultValueFactory = _ => FashionMnist.DefaultDataFolder,
};
var outOption = new Option<string>("--out")
{
    HelpName = "folder",
    Description = "output folder, relative to the current folder",
    DefaultValueFactory = _ => FashionMnistSubset.DefaultOutputFolder,
};
var trainPerClassOption = ExampleCommandLine.WholeNumber("--train-per-class", "training images per class", FashionMnistSubset.DefaultTrainPerClass);
var testPerClassOption = ExampleCommandLine.WholeNumber("--test-per-class", "test images per class", FashionMnistSubset.DefaultTestPerClass);
var command = new RootCommand("""
    Writes the first N training and test images of each Fashion-MNIST class as PNG files,
    with labels.csv, LICENSE and README.md, into <out>/train/<class>/<id>.png and <out>/test/<class>/<id>.png.

    From the repository root: dotnet run -c Release --project examples/MakeFashionMnistSubset -- [options]

    PNG files of an earlier run that the new subset does not hold are deleted from the class folders;
    those that already hold the right pixels are left as they are.
    """)
{
    dataOption, outOption, trainPerClassOption, testPerClassOption,
};

var settings = ExampleCommandLine.Parse(command, args, result => new
{
    Data = result.GetValue(dataOption)!,
    Output = Path.GetFullPath(result.GetValue(outOption)!),
    TrainPerClass = result.GetValue(trainPerClassOption),
    TestPerClass = result.GetValue(testPerClassOption),
}, out var exitCode);
if (settings is null)
    return exitCode; // --help (0), or bad arguments (2)

try
{
    var summary = FashionMnistSubset.Write(settings.Data, settings.Output, settings.TrainPerClass, settings.TestPerClass);
    Console.WriteLine($"Read the IDX files in {settings.Data}.");
    Console.WriteLine($"Wrote {summary.TrainImages} training and {summary.TestImages} test images "
        + $"({summary.ImageBytes:N0} bytes of PNG) to {settings.Output}.");
    if (summary.StaleImagesDeleted > 0)
        Console.WriteLine($"Deleted {summary.StaleImagesDeleted} PNG files of an earlier run that the subset no longer holds.");
    return 0;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // DirectoryNotFoundException and FileNotFoundException are IOExceptions: a missing data folder lands here.
    Console.Error.WriteLine(e.Message);
    return 1;
}
