// Writes the Fashion-MNIST subset the examples ship with (examples/data/fashion-mnist) from the IDX files.
using Microsoft.ML.Morphism.Samples;

var usage = $"""
    Writes the first N training and test images of each Fashion-MNIST class as PNG files,
    with labels.csv, LICENSE and README.md, into <out>/train/<class>/<id>.png and <out>/test/<class>/<id>.png.

    Usage: dotnet run -c Release --project examples/MakeFashionMnistSubset -- [options]
      --data <folder>           folder of the IDX files (default {FashionMnist.DefaultDataFolder})
      --out <folder>            output folder (default {FashionMnistSubset.DefaultOutputFolder}, relative to the current folder)
      --train-per-class <n>     training images per class (default {FashionMnistSubset.DefaultTrainPerClass})
      --test-per-class <n>      test images per class (default {FashionMnistSubset.DefaultTestPerClass})

    PNG files of an earlier run that the new subset does not hold are deleted from the class folders.
    """;

try
{
    var options = CommandLineOptions.Parse(args, "--data", "--out", "--train-per-class", "--test-per-class");
    if (options.HelpRequested)
    {
        Console.WriteLine(usage);
        return 0;
    }
    var data = options.GetString("--data", FashionMnist.DefaultDataFolder);
    var output = Path.GetFullPath(options.GetString("--out", FashionMnistSubset.DefaultOutputFolder));
    var trainPerClass = options.GetInt("--train-per-class", FashionMnistSubset.DefaultTrainPerClass, minimum: 1);
    var testPerClass = options.GetInt("--test-per-class", FashionMnistSubset.DefaultTestPerClass, minimum: 1);

    var summary = FashionMnistSubset.Write(data, output, trainPerClass, testPerClass);
    Console.WriteLine($"Read the IDX files in {data}.");
    Console.WriteLine($"Wrote {summary.TrainImages} training and {summary.TestImages} test images "
        + $"({summary.ImageBytes:N0} bytes of PNG) to {output}.");
    if (summary.StaleImagesDeleted > 0)
        Console.WriteLine($"Deleted {summary.StaleImagesDeleted} PNG files of an earlier run that the subset no longer holds.");
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine();
    Console.Error.WriteLine(usage);
    return 2;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // DirectoryNotFoundException and FileNotFoundException are IOExceptions: a missing data folder lands here.
    Console.Error.WriteLine(e.Message);
    return 1;
}
