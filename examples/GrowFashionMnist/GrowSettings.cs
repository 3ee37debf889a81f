// The main job's command line: data source, epoch budget per arm, seeds, the morph plan and where results go.
using System.CommandLine;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

/// <summary>Everything one run of the main job is told; <see cref="Parse"/> reads it from the command line.</summary>
internal sealed record GrowSettings
{
    /// <summary>The parent's hidden layers: the trainer's default CNN for 28×28 images.</summary>
    public static readonly string DefaultArchitecture = MorphableImageClassifierTrainer.DefaultArchitecture(FashionMnist.ImageSize, FashionMnist.ImageSize);

    /// <summary>Deeper, wider, a larger kernel and a branch: every morph kind the job demonstrates, on the default CNN.</summary>
    public const string DefaultPlan = "widen(conv1, 24) widen(conv2, 48) kernel(conv1, 5) branch(conv1, 1) deepen(conv2)";

    public const int DefaultEpochs = 8;
    public const int DefaultRefitEpochs = 8;

    /// <summary>IDX folder (full data set) or null for the image folder.</summary>
    public string? IdxFolder { get; init; }
    /// <summary>The image folder read when <see cref="IdxFolder"/> is null; null = the committed subset.</summary>
    public string? ImageFolder { get; init; }
    public int? TrainPerClass { get; init; }
    public int? TestPerClass { get; init; }
    /// <summary>Evaluate on the last N training images of each class instead of the test set (IDX data only).</summary>
    public int? HoldOutPerClass { get; init; }
    public int Epochs { get; init; } = DefaultEpochs;
    public int RefitEpochs { get; init; } = DefaultRefitEpochs;
    /// <summary>Epochs of an extra, longer from-scratch run of the child (0 = none); the study uses twice the equal budget.</summary>
    public int LongScratchEpochs { get; init; }
    public IReadOnlyList<int> Seeds { get; init; } = [1];
    public string Architecture { get; init; } = DefaultArchitecture;
    public MorphPlan Plan { get; init; } = MorphPlan.Parse(DefaultPlan);
    public int BatchSize { get; init; } = MorphableImageClassifierTrainer.Defaults.BatchSize;
    public double LearningRate { get; init; } = MorphableImageClassifierTrainer.Defaults.LearningRate;
    /// <summary>Peak learning rate of the from-scratch child runs; null takes <see cref="LearningRate"/> (the parent's recipe).</summary>
    public double? ScratchLearningRate { get; init; }
    /// <summary>Refit peak learning rate; null takes the library's default (a tenth of the parent's peak).</summary>
    public double? RefitLearningRate { get; init; }
    /// <summary>Refit warm-up epochs (0 = start at the peak learning rate); null takes the library's refit default (half an epoch).</summary>
    public double? RefitWarmupEpochs { get; init; }
    /// <summary>P-activations' learning-rate factor in every arm (the library's default is 1).</summary>
    public double ActivationLearningRateFactor { get; init; } = 1;
    /// <summary>±2 px shifts and left-right flips (right for clothing, wrong for digits or text).</summary>
    public bool Augmentation { get; init; } = true;
    public int? Threads { get; init; }
    /// <summary>Seeds trained at the same time (each with <see cref="Threads"/>, by default the cores shared out).</summary>
    public int ParallelSeeds { get; init; } = 1;
    public string OutputFolder { get; init; } = Path.Combine("artifacts", "grow-fashion-mnist");

    /// <summary>The parent's epochs plus the refit's: what the from-scratch child gets for a fair comparison.</summary>
    public int EqualBudgetEpochs => Epochs + RefitEpochs;

    private static readonly Option<string?> DataOption = new("--data")
    {
        HelpName = "folder",
        Description = $"""
            IDX files of the full data set (e.g. {FashionMnist.DefaultDataFolder});
            default: the committed PNG subset, read through LoadImages
            """,
    };
    private static readonly Option<string?> ImagesOption = new("--images")
    {
        HelpName = "folder",
        Description = "another image folder laid out <folder>/{train,test}/<class>/<image>.png",
    };
    private static readonly Option<int?> TrainPerClassOption = ExampleCommandLine.OptionalWholeNumber("--train-per-class", "first n training images of each class (default: all)");
    private static readonly Option<int?> TestPerClassOption = ExampleCommandLine.OptionalWholeNumber("--test-per-class", "first n test images of each class (default: all)");
    private static readonly Option<int?> HoldOutPerClassOption = ExampleCommandLine.OptionalWholeNumber("--holdout-per-class", """
        with --data: evaluate on the last n training images of each class instead
        of the test set, to choose settings without looking at the test images
        """);
    private static readonly Option<int> EpochsOption = ExampleCommandLine.WholeNumber("--epochs", "parent epochs", DefaultEpochs);
    private static readonly Option<int> RefitEpochsOption = ExampleCommandLine.WholeNumber("--refit-epochs",
        "child refit epochs; the scratch child gets epochs + refit-epochs", DefaultRefitEpochs);
    private static readonly Option<int> LongScratchEpochsOption = ExampleCommandLine.WholeNumber("--long-scratch-epochs",
        "also train the child from scratch this long (0 = no; the study uses 2x the budget)", 0, minimum: 0);
    private static readonly Option<IReadOnlyList<int>> SeedsOption = ExampleCommandLine.WholeNumbers("--seeds",
        "one complete run per seed, then the mean", [1], minimum: 0);
    private static readonly Option<string> ArchitectureOption = new("--architecture")
    {
        HelpName = "text",
        Description = "parent hidden layers",
        DefaultValueFactory = _ => DefaultArchitecture,
    };
    private static readonly Option<string> PlanOption = new("--plan") { HelpName = "text", Description = "morph plan", DefaultValueFactory = _ => DefaultPlan };
    private static readonly Option<int> BatchSizeOption = ExampleCommandLine.WholeNumber("--batch-size", "images per training step", MorphableImageClassifierTrainer.Defaults.BatchSize);
    private static readonly Option<double?> LearningRateOption = ExampleCommandLine.Number("--learning-rate",
        $"parent and scratch peak learning rate, SGD + cosine (default {MorphableImageClassifierTrainer.Defaults.LearningRate})");
    private static readonly Option<double?> ScratchLearningRateOption = ExampleCommandLine.Number("--scratch-learning-rate",
        "peak learning rate of the from-scratch child runs only (default: --learning-rate)");
    private static readonly Option<double?> RefitLearningRateOption = ExampleCommandLine.Number("--refit-learning-rate",
        "child refit peak learning rate (default: a tenth of the parent's peak)");
    private static readonly Option<double?> RefitWarmupEpochsOption = ExampleCommandLine.Number("--refit-warmup-epochs",
        "epochs the refit's learning rate takes to rise to its peak (default: the library's refit default, 0.5; 0 = none)", allowZero: true);
    private static readonly Option<double?> ActivationLearningRateFactorOption = ExampleCommandLine.Number("--activation-lr-factor",
        "learning rate of P-activations' a as a multiple of the others' (default 1)");
    private static readonly Option<string> AugmentationOption = new Option<string>("--augmentation")
    {
        Description = "±2 px shifts and horizontal flips during training",
        DefaultValueFactory = _ => "on",
    }.AcceptOnlyFromAmong("on", "off");
    private static readonly Option<int?> ThreadsOption = ExampleCommandLine.OptionalWholeNumber("--threads",
        "TorchSharp intra-op threads (default: the machine's cores, shared out between parallel seeds)");
    private static readonly Option<int> ParallelSeedsOption = ExampleCommandLine.WholeNumber("--parallel-seeds", """
        train n seeds at the same time; with one thread each, 2 seeds on 2 cores
        take about the time of one seed on 2 threads, without oversubscribing the cores
        """, 1);
    private static readonly Option<string> OutOption = new("--out")
    {
        HelpName = "folder",
        Description = "output folder",
        DefaultValueFactory = _ => Path.Combine("artifacts", "grow-fashion-mnist"),
    };

    /// <summary>The job's command line; its description holds what the options do not: the plan syntax, divergence, the exit codes.</summary>
    private static RootCommand Command() => new("""
        Grows a Fashion-MNIST classifier: trains a parent CNN, morphs it into a larger child with its function
        preserved, refits the child, trains the same child architecture from scratch with the same total epochs,
        and compares them. Writes parent.zip, child.zip, accuracy.png and results.json to the output folder.

        From the repository root: dotnet run -c Release --project examples/GrowFashionMnist -- [options]

        Morph plan text: deepen(layer[, kernel=1][, width=N][, activation=relu|tanh|...][, method=netmorph|idmorph])
          widen(layer, width)  kernel(layer, size)  branch(layer[, kernel])  skip(from, to)  bn(after)

        An arm whose training diverges (a non-finite or exploding loss) does not stop the job: the tables and
        results.json show it as diverged, with its last good test accuracy, and the other arms still run (after
        a diverged parent, nothing of that seed can).

        Exit codes:
          0  done: every morph exact, no arm diverged (or --help)
          1  bad files: missing or unreadable data, an unwritable output folder
          2  bad arguments: unknown option, bad value, bad --plan or --architecture text, a plan that does not fit the parent
          3  a morph was not exact (the library's preservation promise failed; takes precedence over 4)
          4  an arm diverged (the results are written all the same)
          5  an unexpected error (a bug): its message and stack trace are printed
        """)
    {
        DataOption, ImagesOption, TrainPerClassOption, TestPerClassOption, HoldOutPerClassOption, EpochsOption, RefitEpochsOption,
        LongScratchEpochsOption, SeedsOption, ArchitectureOption, PlanOption, BatchSizeOption, LearningRateOption,
        ScratchLearningRateOption, RefitLearningRateOption, RefitWarmupEpochsOption, ActivationLearningRateFactorOption,
        AugmentationOption, ThreadsOption, ParallelSeedsOption, OutOption,
    };

    /// <summary>
    /// Reads the command line; null after printing the help (exit code 0), or why the arguments are wrong and where
    /// the help is (exit code 2: also options that do not fit together, bad plan or architecture text, a plan that
    /// does not fit the parent).
    /// </summary>
    public static GrowSettings? Parse(string[] args, out int exitCode) =>
        ExampleCommandLine.Parse(Command(), args, Read, out exitCode, hint: "Run with --help for the options.");

    private static GrowSettings Read(ParseResult result)
    {
        var data = result.GetValue(DataOption);
        var images = result.GetValue(ImagesOption);
        if (data is not null && images is not null)
            throw new ArgumentException("Give either --data (IDX files) or --images (an image folder), not both.");
        if (data is null && result.GetValue(HoldOutPerClassOption) is not null)
            throw new ArgumentException("--holdout-per-class needs --data (the IDX files).");
        MorphPlan plan;
        try
        {
            plan = MorphPlan.Parse(result.GetValue(PlanOption)!);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"Option '--plan': {e.Message}", e);
        }
        var settings = new GrowSettings
        {
            IdxFolder = data,
            ImageFolder = images,
            TrainPerClass = result.GetValue(TrainPerClassOption),
            TestPerClass = result.GetValue(TestPerClassOption),
            HoldOutPerClass = result.GetValue(HoldOutPerClassOption),
            Epochs = result.GetValue(EpochsOption),
            RefitEpochs = result.GetValue(RefitEpochsOption),
            LongScratchEpochs = result.GetValue(LongScratchEpochsOption),
            Seeds = result.GetValue(SeedsOption)!,
            Architecture = result.GetValue(ArchitectureOption)!,
            Plan = plan,
            BatchSize = result.GetValue(BatchSizeOption),
            LearningRate = result.GetValue(LearningRateOption) ?? MorphableImageClassifierTrainer.Defaults.LearningRate,
            ScratchLearningRate = result.GetValue(ScratchLearningRateOption),
            RefitLearningRate = result.GetValue(RefitLearningRateOption),
            RefitWarmupEpochs = result.GetValue(RefitWarmupEpochsOption),
            ActivationLearningRateFactor = result.GetValue(ActivationLearningRateFactorOption) ?? 1,
            Augmentation = result.GetValue(AugmentationOption) == "on",
            ParallelSeeds = result.GetValue(ParallelSeedsOption),
            Threads = result.GetValue(ThreadsOption),
            OutputFolder = result.GetValue(OutOption)!,
        };
        settings.CheckPlanFitsTheParent();
        // libtorch's thread count is process-wide: parallel seeds share the cores instead of each taking all of them.
        if (settings.ParallelSeeds > 1 && settings.Threads is null)
            settings = settings with { Threads = Math.Max(1, Environment.ProcessorCount / Math.Min(settings.ParallelSeeds, settings.Seeds.Count)) };
        return settings;
    }

    /// <summary>
    /// Applies the plan to a randomly initialised parent (milliseconds), so a plan that does not fit the
    /// architecture (an unknown layer, a shrinking width) fails before any training, with the library's message.
    /// </summary>
    private void CheckPlanFitsTheParent()
    {
        NetworkDescription parent;
        try
        {
            parent = ParentNetwork();
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"Option '--architecture': {e.Message}", e);
        }
        Plan.Apply(parent, NetworkWeights.Initialize(parent, seed: 0));
    }

    /// <summary>The parent's whole network (hidden layers and the ten-class output) on 1×28×28 images.</summary>
    /// <exception cref="FormatException"><see cref="Architecture"/> is not valid network text.</exception>
    public NetworkDescription ParentNetwork() =>
        NetworkDescription.Parse($"{Architecture} dense({FashionMnist.ClassCount})", TensorShape.Image(1, FashionMnist.ImageSize, FashionMnist.ImageSize));
}
