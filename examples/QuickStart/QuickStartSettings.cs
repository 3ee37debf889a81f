// QuickStart's command line: where the images are, how long to train, where to write child.zip.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

namespace QuickStart;

/// <summary>The settings of one QuickStart run; the defaults run the README's code as written, in a minute or two.</summary>
internal sealed record QuickStartSettings(string Data, int Epochs, int RefitEpochs, int TrainPerClass, int TestPerClass, string Out)
{
    /// <summary>Where child.zip goes when --out is not given: under artifacts/, like the other examples, so none overwrites another's.</summary>
    public static readonly string DefaultOut = Path.Combine("artifacts", "quickstart");

    private static readonly Option<string?> DataOption = new("--data")
    {
        HelpName = "folder",
        Description = """
            the subset: <folder>/train/<class>/*.png and <folder>/test/<class>/*.png
            (default: the repository's examples/data/fashion-mnist)
            """,
    };
    private static readonly Option<int> EpochsOption = ExampleCommandLine.WholeNumber("--epochs", "parent training epochs", 5);
    private static readonly Option<int> RefitEpochsOption = ExampleCommandLine.WholeNumber("--refit-epochs", "child refit epochs; 0 = morph only", 3, minimum: 0);
    private static readonly Option<int?> TrainPerClassOption = ExampleCommandLine.OptionalWholeNumber("--train-per-class",
        "use only the first n training images of each class (default: all 200)");
    private static readonly Option<int?> TestPerClassOption = ExampleCommandLine.OptionalWholeNumber("--test-per-class",
        "use only the first n test images of each class (default: all 100)");
    private static readonly Option<string?> OutOption = new("--out")
    {
        HelpName = "folder",
        Description = "where child.zip is written (default: artifacts/quickstart under the current folder); the full path is printed",
    };

    private static RootCommand Command() => new("""
        Trains a small CNN on the committed Fashion-MNIST subset, morphs it (deeper, wider, bigger kernel),
        refits the child, prints both test accuracies, the morph report and the two networks, then saves
        child.zip and loads it back with stock ML.NET.

        From the repository root: dotnet run -c Release --project examples/QuickStart -- [options]
        """)
    {
        DataOption, EpochsOption, RefitEpochsOption, TrainPerClassOption, TestPerClassOption, OutOption,
    };

    /// <summary>
    /// The settings a command line asks for; null after printing the help (exit code 0) or why the arguments are
    /// wrong, followed by the help (exit code 2).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No --data, and the committed subset is not where the build recorded it.</exception>
    public static QuickStartSettings? Parse(string[] args, out int exitCode) =>
        ExampleCommandLine.Parse(Command(), args, result => new QuickStartSettings(
            Data: result.GetValue(DataOption) is { Length: > 0 } data ? Path.GetFullPath(data) : ExampleData.SubsetFolder(),
            Epochs: result.GetValue(EpochsOption),
            RefitEpochs: result.GetValue(RefitEpochsOption),
            TrainPerClass: result.GetValue(TrainPerClassOption) ?? int.MaxValue,
            TestPerClass: result.GetValue(TestPerClassOption) ?? int.MaxValue,
            Out: Path.GetFullPath(result.GetValue(OutOption) ?? DefaultOut)), out exitCode);

    /// <summary>The rows (absolute ImagePath, Label = class folder) of one split of the subset, as many per class as asked for.</summary>
    public IReadOnlyList<ImageFolderRow> Rows(string split) =>
        ExampleData.TakePerClass(ImageFolder.Enumerate(Data, split), split == FashionMnistSubset.TrainFolder ? TrainPerClass : TestPerClass);
}
