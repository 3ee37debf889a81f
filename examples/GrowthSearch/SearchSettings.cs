// The growth search's command line: the data, the budget (wall time, MACs or trials), the search's knobs and where results go.
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Examples.GrowthSearch;

/// <summary>Everything one run of the growth search is told; <see cref="Parse"/> reads it from the command line.</summary>
internal sealed record SearchSettings
{
    /// <summary>The starting network's hidden layers: the trainer's default CNN for 28×28 images.</summary>
    public static readonly string DefaultArchitecture = MorphableImageClassifierTrainer.DefaultArchitecture(FashionMnist.ImageSize, FashionMnist.ImageSize);

    /// <summary>The wall-time budget when no budget at all is given.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromMinutes(2);

    public const int DefaultChildren = 4;
    public const int DefaultEpochsPerTrial = 1;
    public const int DefaultInitialEpochs = 3;
    public const int DefaultMaxMorphs = 2;
    public const double DefaultValidationFraction = 0.2;

    /// <summary>IDX folder (full data set) or null for the committed PNG subset.</summary>
    public string? IdxFolder { get; init; }
    public int? TrainPerClass { get; init; }
    public int? TestPerClass { get; init; }
    /// <summary>Wall time for the whole run, data loading and writing the results included; null = no time budget.</summary>
    public TimeSpan? Budget { get; init; }
    /// <summary>Training MACs for the whole search (deterministic); null = none.</summary>
    public long? MacBudget { get; init; }
    /// <summary>Most child trials (deterministic); null = none.</summary>
    public int? MaxTrials { get; init; }
    public int Seed { get; init; } = 1;
    public int Children { get; init; } = DefaultChildren;
    public int EpochsPerTrial { get; init; } = DefaultEpochsPerTrial;
    public int InitialEpochs { get; init; } = DefaultInitialEpochs;
    public int MaxMorphs { get; init; } = DefaultMaxMorphs;
    /// <summary>Epochs that train the winner; null = what the rest of the budget pays for.</summary>
    public int? FinalEpochs { get; init; }
    public double ValidationFraction { get; init; } = DefaultValidationFraction;
    public string Architecture { get; init; } = DefaultArchitecture;
    public double LearningRate { get; init; } = MorphableImageClassifierTrainer.Defaults.LearningRate;
    /// <summary>±2 px shifts and left-right flips (right for clothing, wrong for digits or text).</summary>
    public bool Augmentation { get; init; } = true;
    public int? Threads { get; init; }
    public string OutputFolder { get; init; } = Path.Combine("artifacts", "growth-search");

    private static readonly Option<string?> DataOption = new("--data")
    {
        HelpName = "folder",
        Description = $"""
            IDX files of the full data set (e.g. {FashionMnist.DefaultDataFolder});
            default: the committed PNG subset, read through LoadImages
            """,
    };
    private static readonly Option<int?> TrainPerClassOption = ExampleCommandLine.OptionalWholeNumber("--train-per-class",
        "first n training images of each class (default: all); validation is split off these");
    private static readonly Option<int?> TestPerClassOption = ExampleCommandLine.OptionalWholeNumber("--test-per-class", "first n test images of each class (default: all)");
    private static readonly Option<TimeSpan?> BudgetOption = new("--budget")
    {
        HelpName = "time",
        Description = """
            wall time of the whole run, data loading and results included, e.g. 00:02:00 or 90s
            (default 00:02:00 when neither --mac-budget nor --max-trials is given)
            """,
        CustomParser = ParseDuration,
    };
    private static readonly Option<double?> MacBudgetOption = ExampleCommandLine.Number("--mac-budget",
        "training MACs of the whole search, e.g. 2e12: a deterministic budget (same lineage on any machine)");
    private static readonly Option<int?> MaxTrialsOption = ExampleCommandLine.OptionalWholeNumber("--max-trials", "most child trials (deterministic)");
    private static readonly Option<int> SeedOption = ExampleCommandLine.WholeNumber("--seed", "seed of the start network, the validation split, the morphs and training", 1, minimum: 0);
    private static readonly Option<int> ChildrenOption = ExampleCommandLine.WholeNumber("--children", "K: children per round", DefaultChildren);
    private static readonly Option<int> EpochsPerTrialOption = ExampleCommandLine.WholeNumber("--epochs-per-trial", "E: epochs each child (and the incumbent) trains per round", DefaultEpochsPerTrial);
    private static readonly Option<int> InitialEpochsOption = ExampleCommandLine.WholeNumber("--initial-epochs", "epochs that train the start network before the first round", DefaultInitialEpochs, minimum: 0);
    private static readonly Option<int> MaxMorphsOption = ExampleCommandLine.WholeNumber("--max-morphs", "each child applies 1 to n random morphs", DefaultMaxMorphs);
    private static readonly Option<int?> FinalEpochsOption = ExampleCommandLine.OptionalWholeNumber("--final-epochs",
        "epochs that train the winner (default: what the rest of the budget pays for; 2 x E with only --max-trials)", minimum: 0);
    private static readonly Option<double?> ValidationFractionOption = ExampleCommandLine.Number("--validation-fraction",
        $"share of the training images held out to choose between trials (default {DefaultValidationFraction.ToString(CultureInfo.InvariantCulture)}); never the test set");
    private static readonly Option<string> ArchitectureOption = new("--architecture")
    {
        HelpName = "text",
        Description = "the start network's hidden layers (the output layer is added)",
        DefaultValueFactory = _ => DefaultArchitecture,
    };
    private static readonly Option<double?> LearningRateOption = ExampleCommandLine.Number("--learning-rate",
        $"peak learning rate, SGD + cosine per trial (default {MorphableImageClassifierTrainer.Defaults.LearningRate.ToString(CultureInfo.InvariantCulture)})");
    private static readonly Option<string> AugmentationOption = new Option<string>("--augmentation")
    {
        Description = "±2 px shifts and horizontal flips during training",
        DefaultValueFactory = _ => "on",
    }.AcceptOnlyFromAmong("on", "off");
    private static readonly Option<int?> ThreadsOption = ExampleCommandLine.OptionalWholeNumber("--threads", "TorchSharp intra-op threads (default: the machine's cores)");
    private static readonly Option<string> OutOption = new("--out")
    {
        HelpName = "folder",
        Description = "output folder",
        DefaultValueFactory = _ => Path.Combine("artifacts", "growth-search"),
    };

    /// <summary>The command line; its description holds what the options do not: the idea, what is written, the exit codes.</summary>
    private static RootCommand Command() => new("""
        Grows a Fashion-MNIST classifier by a growth search (NASH-style hill climbing): the start network
        trains a few epochs; each round makes K children of the incumbent by random exact morphs (each child
        inherits its parent's weights), trains them and the incumbent E epochs, and keeps the best by
        validation accuracy; the rest of the budget trains the winner. Validation images are split off the
        training images; the test images are only measured at the end, as a monitor.
        Writes model.zip, results.json (settings, lineage, totals) and accuracy-vs-compute.png to the output folder.

        From the repository root: dotnet run -c Release --project examples/GrowthSearch -- [options]

        Budgets can be combined; the search stops at the first one reached. --budget counts the whole run;
        --mac-budget and --max-trials give the same lineage on every machine (for a given thread count).

        Exit codes:
          0  done (or --help)
          1  bad files: missing or unreadable data, an unwritable output folder
          2  bad arguments: unknown option, bad value, bad --architecture text, a budget used up before the search
          4  the start network's training diverged (lower --learning-rate)
          5  an unexpected error (a bug): its message and stack trace are printed
        """)
    {
        DataOption, TrainPerClassOption, TestPerClassOption, BudgetOption, MacBudgetOption, MaxTrialsOption, SeedOption, ChildrenOption,
        EpochsPerTrialOption, InitialEpochsOption, MaxMorphsOption, FinalEpochsOption, ValidationFractionOption, ArchitectureOption,
        LearningRateOption, AugmentationOption, ThreadsOption, OutOption,
    };

    /// <summary>
    /// Reads the command line; null after printing the help (exit code 0), or why the arguments are wrong and where
    /// the help is (exit code 2: also bad architecture text and values out of range).
    /// </summary>
    public static SearchSettings? Parse(string[] args, out int exitCode) =>
        ExampleCommandLine.Parse(Command(), args, Read, out exitCode, hint: "Run with --help for the options.");

    private static SearchSettings Read(ParseResult result)
    {
        var macBudget = result.GetValue(MacBudgetOption);
        if (macBudget is >= long.MaxValue)
            throw new ArgumentException($"Option '--mac-budget' must be below {long.MaxValue:0.0e+00}, got {macBudget:0.0e+00}.");
        var validation = result.GetValue(ValidationFractionOption) ?? DefaultValidationFraction;
        if (validation >= 1)
            throw new ArgumentException($"Option '--validation-fraction' must be below 1, got {validation.ToString(CultureInfo.InvariantCulture)}.");
        var maxTrials = result.GetValue(MaxTrialsOption);
        var budget = result.GetValue(BudgetOption);
        var settings = new SearchSettings
        {
            IdxFolder = result.GetValue(DataOption),
            TrainPerClass = result.GetValue(TrainPerClassOption),
            TestPerClass = result.GetValue(TestPerClassOption),
            Budget = budget ?? (macBudget is null && maxTrials is null ? DefaultBudget : null),
            MacBudget = macBudget is { } m ? (long)m : null,
            MaxTrials = maxTrials,
            Seed = result.GetValue(SeedOption),
            Children = result.GetValue(ChildrenOption),
            EpochsPerTrial = result.GetValue(EpochsPerTrialOption),
            InitialEpochs = result.GetValue(InitialEpochsOption),
            MaxMorphs = result.GetValue(MaxMorphsOption),
            FinalEpochs = result.GetValue(FinalEpochsOption),
            ValidationFraction = validation,
            Architecture = result.GetValue(ArchitectureOption)!,
            LearningRate = result.GetValue(LearningRateOption) ?? MorphableImageClassifierTrainer.Defaults.LearningRate,
            Augmentation = result.GetValue(AugmentationOption) == "on",
            Threads = result.GetValue(ThreadsOption),
            OutputFolder = result.GetValue(OutOption)!,
        };
        try
        {
            settings.StartNetwork();
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"Option '--architecture': {e.Message}", e);
        }
        return settings;
    }

    /// <summary>The start network: the hidden layers and the ten-class output on 1×28×28 images.</summary>
    /// <exception cref="FormatException"><see cref="Architecture"/> is not valid network text.</exception>
    public NetworkDescription StartNetwork() =>
        NetworkDescription.Parse($"{Architecture} dense({FashionMnist.ClassCount})", TensorShape.Image(1, FashionMnist.ImageSize, FashionMnist.ImageSize));

    /// <summary>The budgets in words, for the output and results.json.</summary>
    public string BudgetText() => string.Join(", ", new[]
    {
        Budget is { } b ? $"{b:c} wall time (whole run)" : null,
        MacBudget is { } m ? $"{m:0.00e+00} MACs" : null,
        MaxTrials is { } t ? $"{t} child trials" : null,
    }.OfType<string>());

    /// <summary>A duration as <c>hh:mm:ss</c> (TimeSpan's invariant form) or a number with a unit: <c>90s</c>, <c>2m</c>, <c>1.5h</c>.</summary>
    private static TimeSpan? ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens[0].Value.Trim();
        TimeSpan? value = null;
        if (text.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var parsed))
        {
            value = parsed;
        }
        else if (text.Length > 1 && "smh".Contains(char.ToLowerInvariant(text[^1]), StringComparison.Ordinal)
                 && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) && double.IsFinite(amount)
                 && amount < 1e6)
        {
            value = char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                _ => TimeSpan.FromHours(amount),
            };
        }
        if (value is not { } duration || duration <= TimeSpan.Zero)
        {
            result.AddError($"Option '--budget' needs a positive duration like 00:02:00 or 90s, got '{text}'.");
            return null;
        }
        return duration;
    }
}
