// QuickStart's command line: where the images are, how long to train, where to write child.zip.
using Microsoft.ML.Morphism.Samples;

namespace QuickStart;

/// <summary>The settings of one QuickStart run; the defaults run the README's code as written, in a minute or two.</summary>
internal sealed record QuickStartSettings(string Data, int Epochs, int RefitEpochs, int TrainPerClass, int TestPerClass, string Out)
{
    /// <summary>Where child.zip goes when --out is not given: under artifacts/, like the other examples, so none overwrites another's.</summary>
    public static readonly string DefaultOut = Path.Combine("artifacts", "quickstart");

    public const string Usage = """
        Trains a small CNN on the committed Fashion-MNIST subset, morphs it (deeper, wider, bigger kernel),
        refits the child, prints both test accuracies, the morph report and the two networks, then saves
        child.zip and loads it back with stock ML.NET.

        Usage: dotnet run -c Release --project examples/QuickStart -- [options]
          --data <folder>            the subset: <folder>/train/<class>/*.png and <folder>/test/<class>/*.png
                                     (default: the repository's examples/data/fashion-mnist)
          --epochs <n>               parent training epochs (default 5)
          --refit-epochs <n>         child refit epochs; 0 = morph only (default 3)
          --train-per-class <n>      use only the first n training images of each class (default: all 200)
          --test-per-class <n>       use only the first n test images of each class (default: all 100)
          --out <folder>             where child.zip is written (default: artifacts/quickstart under the current
                                     folder); the full path is printed
        """;

    /// <summary>The settings a command line asks for, or null when it asks for --help.</summary>
    /// <exception cref="ArgumentException">An unknown option, or a value out of range; the message says which.</exception>
    public static QuickStartSettings? Parse(string[] args)
    {
        var options = CommandLineOptions.Parse(args,
            "--data", "--epochs", "--refit-epochs", "--train-per-class", "--test-per-class", "--out");
        if (options.HelpRequested)
            return null;
        var data = options.GetString("--data", "");
        return new QuickStartSettings(
            Data: data.Length > 0 ? Path.GetFullPath(data) : ExampleData.SubsetFolder(),
            Epochs: options.GetInt("--epochs", 5, minimum: 1),
            RefitEpochs: options.GetInt("--refit-epochs", 3, minimum: 0),
            TrainPerClass: options.GetInt("--train-per-class", int.MaxValue, minimum: 1),
            TestPerClass: options.GetInt("--test-per-class", int.MaxValue, minimum: 1),
            Out: Path.GetFullPath(options.GetString("--out", DefaultOut)));
    }

    /// <summary>The rows (absolute ImagePath, Label = class folder) of one split of the subset, as many per class as asked for.</summary>
    public IReadOnlyList<ImageFolderRow> Rows(string split) =>
        ExampleData.TakePerClass(ImageFolder.Enumerate(Data, split), split == FashionMnistSubset.TrainFolder ? TrainPerClass : TestPerClass);
}
