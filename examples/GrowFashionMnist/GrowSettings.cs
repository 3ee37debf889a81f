// The main job's command line: data source, epoch budget per arm, seeds, the morph plan and where results go.
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

    public static readonly string Usage = $"""
        Grows a Fashion-MNIST classifier: trains a parent CNN, morphs it into a larger child with its function
        preserved, refits the child, trains the same child architecture from scratch with the same total epochs,
        and compares them. Writes parent.zip, child.zip, accuracy.png and results.json to the output folder.

        Usage: dotnet run -c Release --project examples/GrowFashionMnist -- [options]
          --data <folder>              IDX files of the full data set (e.g. {FashionMnist.DefaultDataFolder});
                                       default: the committed PNG subset, read through LoadImages
          --images <folder>            another image folder laid out <folder>/{"{train,test}"}/<class>/<image>.png
          --train-per-class <n>        first n training images of each class (default: all)
          --test-per-class <n>         first n test images of each class (default: all)
          --holdout-per-class <n>      with --data: evaluate on the last n training images of each class instead
                                       of the test set, to choose settings without looking at the test images
          --epochs <n>                 parent epochs (default {DefaultEpochs})
          --refit-epochs <n>           child refit epochs (default {DefaultRefitEpochs}); the scratch child gets epochs + refit-epochs
          --long-scratch-epochs <n>    also train the child from scratch this long (default 0 = no; the study uses 2x the budget)
          --seeds <a,b,...>            one complete run per seed, then the mean (default 1)
          --architecture <text>        parent hidden layers (default "{DefaultArchitecture}")
          --plan <text>                morph plan (default "{DefaultPlan}")
          --batch-size <n>             (default {MorphableImageClassifierTrainer.Defaults.BatchSize})
          --learning-rate <x>          parent and scratch peak learning rate, SGD + cosine (default {MorphableImageClassifierTrainer.Defaults.LearningRate})
          --scratch-learning-rate <x>  peak learning rate of the from-scratch child runs only (default: --learning-rate)
          --refit-learning-rate <x>    child refit peak learning rate (default: a tenth of the parent's peak)
          --refit-warmup-epochs <x>    epochs the refit's learning rate takes to rise to its peak (default: the library's refit default, 0.5; 0 = none)
          --activation-lr-factor <x>   learning rate of P-activations' a as a multiple of the others' (default 1)
          --augmentation <on|off>      ±2 px shifts and horizontal flips during training (default on)
          --threads <n>                TorchSharp intra-op threads (default: the machine's cores, shared out between parallel seeds)
          --parallel-seeds <n>         train n seeds at the same time (default 1); with one thread each, 2 seeds on 2 cores
                                       take about the time of one seed on 2 threads, without oversubscribing the cores
          --out <folder>               output folder (default artifacts/grow-fashion-mnist)

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
        """;

    /// <summary>Reads the command line; an <see cref="ArgumentException"/> says what is wrong with it.</summary>
    public static GrowSettings Parse(string[] args, out bool helpRequested)
    {
        var options = CommandLineOptions.Parse(args, "--data", "--images", "--train-per-class", "--test-per-class", "--holdout-per-class", "--epochs",
            "--refit-epochs", "--long-scratch-epochs", "--seeds", "--architecture", "--plan", "--batch-size", "--learning-rate",
            "--scratch-learning-rate", "--refit-learning-rate", "--refit-warmup-epochs", "--activation-lr-factor", "--augmentation", "--threads", "--parallel-seeds", "--out");
        helpRequested = options.HelpRequested;
        var data = options.GetString("--data", "");
        var images = options.GetString("--images", "");
        if (data.Length > 0 && images.Length > 0)
            throw new ArgumentException("Give either --data (IDX files) or --images (an image folder), not both.");
        if (data.Length == 0 && options.GetString("--holdout-per-class", "").Length > 0)
            throw new ArgumentException("--holdout-per-class needs --data (the IDX files).");
        int? Optional(string name) => options.GetInt(name, -1, minimum: 1) is var n and > 0 ? n : null;
        var augmentation = options.GetString("--augmentation", "on");
        if (augmentation is not ("on" or "off"))
            throw new ArgumentException($"Option '--augmentation' must be 'on' or 'off', got '{augmentation}'.");
        var plan = options.GetString("--plan", DefaultPlan);
        MorphPlan parsedPlan;
        try
        {
            parsedPlan = MorphPlan.Parse(plan);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"Option '--plan': {e.Message}", e);
        }
        var settings = new GrowSettings
        {
            IdxFolder = data.Length > 0 ? data : null,
            ImageFolder = images.Length > 0 ? images : null,
            TrainPerClass = Optional("--train-per-class"),
            TestPerClass = Optional("--test-per-class"),
            HoldOutPerClass = Optional("--holdout-per-class"),
            Epochs = options.GetInt("--epochs", DefaultEpochs, minimum: 1),
            RefitEpochs = options.GetInt("--refit-epochs", DefaultRefitEpochs, minimum: 1),
            LongScratchEpochs = options.GetInt("--long-scratch-epochs", 0, minimum: 0),
            Seeds = options.GetIntList("--seeds", [1], minimum: 0),
            Architecture = options.GetString("--architecture", DefaultArchitecture),
            Plan = parsedPlan,
            BatchSize = options.GetInt("--batch-size", MorphableImageClassifierTrainer.Defaults.BatchSize, minimum: 1),
            LearningRate = options.GetPositiveDouble("--learning-rate") ?? MorphableImageClassifierTrainer.Defaults.LearningRate,
            ScratchLearningRate = options.GetPositiveDouble("--scratch-learning-rate"),
            RefitLearningRate = options.GetPositiveDouble("--refit-learning-rate"),
            RefitWarmupEpochs = options.GetNonNegativeDouble("--refit-warmup-epochs"),
            ActivationLearningRateFactor = options.GetPositiveDouble("--activation-lr-factor") ?? 1,
            Augmentation = augmentation == "on",
            ParallelSeeds = options.GetInt("--parallel-seeds", 1, minimum: 1),
            Threads = Optional("--threads"),
            OutputFolder = options.GetString("--out", Path.Combine("artifacts", "grow-fashion-mnist")),
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
