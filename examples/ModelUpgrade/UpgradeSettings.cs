// ModelUpgrade's command line: the two things it does (upgrade a model, or make a demo parent) and their options, with the plan syntax.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

namespace ModelUpgradeCli;

/// <summary>Upgrade <see cref="Model"/> with <see cref="Plan"/> into <see cref="Out"/>, refitting on <see cref="RefitData"/> when it is given.</summary>
internal sealed record UpgradeSettings(string Model, string Plan, string Out, string? RefitData, int RefitEpochs, int? RefitPerClass);

/// <summary>Train a small parent on the committed Fashion-MNIST subset and save it to <see cref="Out"/>.</summary>
internal sealed record DemoParentSettings(string Out, string Data, int Epochs, int? TrainPerClass);

internal static class CommandLine
{
    /// <summary>Where an upgrade writes when --out is not given: under artifacts/, like the other examples, relative to the current folder.</summary>
    public static readonly string DefaultOut = Path.Combine("artifacts", "model-upgrade", "child.zip");

    private static readonly Option<string?> ModelOption = new("--model")
    {
        HelpName = "file",
        Description = "the model to upgrade, saved with ml.Model.Save from a pipeline holding the classifier",
    };
    private static readonly Option<string?> PlanOption = new("--plan")
    {
        HelpName = "plan",
        Description = "the morph plan, see above (quote it: it holds spaces and parentheses)",
    };
    private static readonly Option<string?> OutOption = new("--out")
    {
        HelpName = "file",
        Description = """
            where the upgraded model is written (default artifacts/model-upgrade/child.zip);
            must not be the --model file
            """,
    };
    private static readonly Option<string?> RefitDataOption = new("--refit-data")
    {
        HelpName = "folder",
        Description = """
            images to refit on, laid out <folder>/<class>/<image> (class folder = label),
            e.g. examples/data/fashion-mnist/train. They go through the saved pipeline, so the
            model must take rows of ImagePath (absolute path) + Label, as the demo parent does.
            Without it the upgrade is morph-only: the new model scores exactly like the old one.
            """,
    };
    private static readonly Option<int> RefitEpochsOption = ExampleCommandLine.WholeNumber("--refit-epochs", "refit epochs", 3);
    private static readonly Option<int?> RefitPerClassOption = ExampleCommandLine.OptionalWholeNumber("--refit-per-class",
        "refit on the first n images of each class only (default: all)");
    private static readonly Option<string?> MakeDemoParentOption = new("--make-demo-parent")
    {
        HelpName = "file",
        Description = """
            train a small parent CNN on the committed Fashion-MNIST subset, save it to <file>
            (e.g. artifacts/model-upgrade/parent.zip), and exit
            """,
    };
    private static readonly Option<string?> DataOption = new("--data")
    {
        HelpName = "folder",
        Description = "the subset for --make-demo-parent: <folder>/train/<class>/*.png (default: the repository's)",
    };
    private static readonly Option<int> EpochsOption = ExampleCommandLine.WholeNumber("--epochs", "demo parent training epochs", 5);
    private static readonly Option<int?> TrainPerClassOption = ExampleCommandLine.OptionalWholeNumber("--train-per-class",
        "demo parent: the first n training images of each class only (default: all 200)");

    private static readonly Option[] UpgradeOnly = [ModelOption, PlanOption, OutOption, RefitDataOption, RefitEpochsOption, RefitPerClassOption];

    private static readonly Option[] DemoParentOnly = [DataOption, EpochsOption, TrainPerClassOption];

    private static RootCommand Command() => new RootCommand("""
        Upgrades a saved ML.NET model (.zip) whose pipeline holds a MorphableImageClassifier: morphs the
        classifier's network with a plan (the model's function is preserved exactly), optionally refits it
        on a folder of images, and writes the upgraded model to another file (through a temp file and a
        rename). The input file is never modified.

        Usage:
          ModelUpgrade --model <in.zip> --plan "<plan>" [--out <out.zip>] [--refit-data <folder>] [--refit-epochs <n>]
          ModelUpgrade --make-demo-parent <parent.zip> [--epochs <n>] [--train-per-class <n>]
        (from the repository root: dotnet run -c Release --project examples/ModelUpgrade -- <arguments>)
        Relative paths are taken from the current folder; the full path of every file written is printed.

        Morph plan: steps separated by spaces, each name(arguments), applied in order. Layers are named as the
        summaries print them (conv1, conv2, dense1, ...; a later step sees the layers an earlier one created).
        Every step keeps the model's function exactly:
          deepen(layer[, kernel=1][, width=N][, activation=relu|tanh|sigmoid|elu|gelu][, method=netmorph|idmorph])
                                      split conv/dense `layer` in two: itself, an activation that starts as the
                                      identity, and a new layer `layer`_d1
          widen(layer, width)         give conv/dense `layer` `width` filters/units
          kernel(layer, size)         enlarge conv `layer`'s kernel to the odd `size`
          branch(layer[, kernelSize]) turn `layer` into two parallel branches whose sum is the old layer
          skip(from, to)              add a zero-initialised projection of `from`'s output ("input" = the image) to `to`'s
          bn(layer)                   insert BatchNorm after `layer`
        Example: --plan "deepen(conv2) widen(conv1, 32) kernel(conv2, 5)"

        Exit codes: 0 done; 2 bad arguments (unknown option, bad plan text, a plan that does not fit the network),
        with a pointer to --help; 1 bad files (missing or damaged model, a model without the classifier, missing or
        unreadable images).
        """)
    {
        ModelOption, PlanOption, OutOption, RefitDataOption, RefitEpochsOption, RefitPerClassOption,
        MakeDemoParentOption, DataOption, EpochsOption, TrainPerClassOption,
    };

    /// <summary>
    /// What the command line asks for: <see cref="UpgradeSettings"/> or <see cref="DemoParentSettings"/>; null after
    /// printing the help (exit code 0), or why the arguments do not make one of the two commands (exit code 2).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">--make-demo-parent without --data, and the committed subset is not where the build recorded it.</exception>
    public static object? Parse(string[] args, out int exitCode) =>
        ExampleCommandLine.Parse(Command(), args, Read, out exitCode, hint: "Run with --help for the options and the plan syntax.");

    private static object Read(ParseResult result)
    {
        bool Has(Option option) => result.GetResult(option) is { Implicit: false };

        if (result.GetValue(MakeDemoParentOption) is { } parent)
        {
            RefuseAll(UpgradeOnly, "--make-demo-parent");
            return new DemoParentSettings(
                Out: Path.GetFullPath(parent),
                Data: result.GetValue(DataOption) is { } data ? Path.GetFullPath(data) : ExampleData.SubsetFolder(),
                Epochs: result.GetValue(EpochsOption),
                TrainPerClass: result.GetValue(TrainPerClassOption));
        }

        RefuseAll(DemoParentOnly, "--model");
        if (result.GetValue(ModelOption) is not { } model || result.GetValue(PlanOption) is not { } plan)
            throw new ArgumentException($"Missing {(Has(ModelOption) ? "--plan" : "--model")}: an upgrade needs --model and --plan (or use --make-demo-parent).");
        var refitData = result.GetValue(RefitDataOption);
        if (refitData is null && (Has(RefitEpochsOption) || Has(RefitPerClassOption)))
            throw new ArgumentException("--refit-epochs and --refit-per-class need --refit-data (the images to refit on).");
        var settings = new UpgradeSettings(
            Model: Path.GetFullPath(model),
            Plan: plan,
            Out: Path.GetFullPath(result.GetValue(OutOption) ?? DefaultOut),
            RefitData: refitData is null ? null : Path.GetFullPath(refitData),
            RefitEpochs: result.GetValue(RefitEpochsOption),
            RefitPerClass: result.GetValue(RefitPerClassOption));
        if (string.Equals(settings.Model, settings.Out, StringComparison.Ordinal))
            throw new ArgumentException($"--out must be another file than --model ('{settings.Model}'): the input model is never overwritten.");
        return settings;

        void RefuseAll(Option[] options, string command)
        {
            foreach (var option in options.Where(Has))
                throw new ArgumentException($"{option.Name} does not go with {command}.");
        }
    }
}
