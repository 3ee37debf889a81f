// ModelUpgrade's command line: the two things it does (upgrade a model, or make a demo parent) and their options, with the plan syntax.
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

    public const string Usage = """
        Upgrades a saved ML.NET model (.zip) whose pipeline holds a MorphableImageClassifier: morphs the
        classifier's network with a plan (the model's function is preserved exactly), optionally refits it
        on a folder of images, and writes the upgraded model to another file (through a temp file and a
        rename). The input file is never modified.

        Usage:
          ModelUpgrade --model <in.zip> --plan "<plan>" [--out <out.zip>] [--refit-data <folder>] [--refit-epochs <n>]
          ModelUpgrade --make-demo-parent <parent.zip> [--epochs <n>] [--train-per-class <n>]
        (from the repository root: dotnet run -c Release --project examples/ModelUpgrade -- <arguments>)
        Relative paths are taken from the current folder; the full path of every file written is printed.

        Options:
          --model <file>              the model to upgrade, saved with ml.Model.Save from a pipeline holding the classifier
          --plan "<plan>"             the morph plan, see below (quote it: it holds spaces and parentheses)
          --out <file>                where the upgraded model is written (default artifacts/model-upgrade/child.zip);
                                      must not be the --model file
          --refit-data <folder>       images to refit on, laid out <folder>/<class>/<image> (class folder = label),
                                      e.g. examples/data/fashion-mnist/train. They go through the saved pipeline, so the
                                      model must take rows of ImagePath (absolute path) + Label, as the demo parent does.
                                      Without it the upgrade is morph-only: the new model scores exactly like the old one.
          --refit-epochs <n>          refit epochs (default 3)
          --refit-per-class <n>       refit on the first n images of each class only (default: all)
          --make-demo-parent <file>   train a small parent CNN on the committed Fashion-MNIST subset, save it to <file>
                                      (e.g. artifacts/model-upgrade/parent.zip), and exit
          --data <folder>             the subset for --make-demo-parent: <folder>/train/<class>/*.png (default: the repository's)
          --epochs <n>                demo parent training epochs (default 5)
          --train-per-class <n>       demo parent: the first n training images of each class only (default: all 200)

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
        """;

    private static readonly string[] Options =
        ["--model", "--plan", "--out", "--refit-data", "--refit-epochs", "--refit-per-class",
         "--make-demo-parent", "--data", "--epochs", "--train-per-class"];

    private static readonly string[] UpgradeOnly = ["--model", "--plan", "--out", "--refit-data", "--refit-epochs", "--refit-per-class"];

    private static readonly string[] DemoParentOnly = ["--data", "--epochs", "--train-per-class"];

    /// <summary>What the command line asks for: <see cref="UpgradeSettings"/>, <see cref="DemoParentSettings"/>, or null for --help.</summary>
    /// <exception cref="ArgumentException">The arguments do not make one of the two commands; the message says what is wrong.</exception>
    public static object? Parse(string[] args)
    {
        var options = CommandLineOptions.Parse(args, Options);
        if (options.HelpRequested)
            return null;
        bool Has(string name) => options.GetString(name, "").Length > 0;

        if (Has("--make-demo-parent"))
        {
            RefuseAll(UpgradeOnly, "--make-demo-parent");
            var data = options.GetString("--data", "");
            return new DemoParentSettings(
                Out: Path.GetFullPath(options.GetString("--make-demo-parent", "")),
                Data: data.Length > 0 ? Path.GetFullPath(data) : ExampleData.SubsetFolder(),
                Epochs: options.GetInt("--epochs", 5, minimum: 1),
                TrainPerClass: PerClass("--train-per-class"));
        }

        RefuseAll(DemoParentOnly, "--model");
        foreach (var required in new[] { "--model", "--plan" })
        {
            if (!Has(required))
                throw new ArgumentException($"Missing {required}: an upgrade needs --model and --plan (or use --make-demo-parent).");
        }
        var refitData = options.GetString("--refit-data", "");
        if (refitData.Length == 0 && (Has("--refit-epochs") || Has("--refit-per-class")))
            throw new ArgumentException("--refit-epochs and --refit-per-class need --refit-data (the images to refit on).");
        var settings = new UpgradeSettings(
            Model: Path.GetFullPath(options.GetString("--model", "")),
            Plan: options.GetString("--plan", ""),
            Out: Path.GetFullPath(options.GetString("--out", DefaultOut)),
            RefitData: refitData.Length > 0 ? Path.GetFullPath(refitData) : null,
            RefitEpochs: options.GetInt("--refit-epochs", 3, minimum: 1),
            RefitPerClass: PerClass("--refit-per-class"));
        if (string.Equals(settings.Model, settings.Out, StringComparison.Ordinal))
            throw new ArgumentException($"--out must be another file than --model ('{settings.Model}'): the input model is never overwritten.");
        return settings;

        int? PerClass(string name) => Has(name) ? options.GetInt(name, 0, minimum: 1) : null;

        void RefuseAll(string[] names, string command)
        {
            foreach (var name in names.Where(Has))
                throw new ArgumentException($"{name} does not go with {command}.");
        }
    }
}
