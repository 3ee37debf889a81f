// The study's command line: data split, the MAC budget in default-CNN epochs, seeds, arms, and the growth search's knobs.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Examples.GrowthStudy;

/// <summary>One study run's settings; every arm of a seed runs back to back in one process with the same threads.</summary>
internal sealed record StudySettings(string Data, int TrainImages, int ValidationImages, int? TestImages, double BudgetEpochs, IReadOnlyList<int> Seeds,
    IReadOnlyList<string> Arms, string Out, int? Threads, int InitialEpochs, int Children, int EpochsPerTrial, int MaxMorphs,
    double FinalFraction, double? TrialLearningRate, double GrowthRamp, (double Shrink, double Perturb)? ShrinkAndPerturb, string Label, string? Report, string GrowthSchedule)
{
    /// <summary>
    /// The arms: A (default CNN, budget B), A-half (B/2), B (random search), C (growth search), D (C's architecture from
    /// scratch), E-grown (growth inside one schedule, --growth-schedule) and E-scratch (its final network from scratch), all at B.
    /// </summary>
    public static readonly string[] AllArms = ["A", "A-half", "B", "C", "D", "E-grown", "E-scratch"];

    private static readonly Option<string?> DataOption = new("--data") { HelpName = "folder", Description = $"the Fashion-MNIST IDX files (default {FashionMnist.DefaultDataFolder})" };
    private static readonly Option<int> TrainOption = ExampleCommandLine.WholeNumber("--train-images", "the first n training images train", 10_000);
    private static readonly Option<int> ValidationOption = ExampleCommandLine.WholeNumber("--validation-images", "the last n training images validate (choose trials; never the test set)", 5_000);
    private static readonly Option<int?> TestOption = ExampleCommandLine.OptionalWholeNumber("--test-images", "monitor on the first n test images (default: all 10,000)");
    private static readonly Option<double?> BudgetOption = ExampleCommandLine.Number("--budget-epochs", "the MAC budget B, in epochs of the default CNN on the training images (validation included); default 100");
    private static readonly Option<IReadOnlyList<int>> SeedsOption = ExampleCommandLine.WholeNumbers("--seeds", "seeds; each runs all arms back to back", [1], minimum: 0);
    private static readonly Option<string> ArmsOption = new("--arms") { HelpName = "A,A-half,B,C,D", Description = "arms to run, in this order (D needs C before it)", DefaultValueFactory = _ => string.Join(",", AllArms) };
    private static readonly Option<string?> OutOption = new("--out") { HelpName = "folder", Description = "where seed-N.json files go (default artifacts/growth-study)" };
    private static readonly Option<int?> ThreadsOption = ExampleCommandLine.OptionalWholeNumber("--threads", "libtorch intra-op threads (default: libtorch's)");
    private static readonly Option<int> InitialOption = ExampleCommandLine.WholeNumber("--initial-epochs", "B and C: epochs that train the starting network", 10, minimum: 0);
    private static readonly Option<int> ChildrenOption = ExampleCommandLine.WholeNumber("--children", "B and C: K, children per round", 4);
    private static readonly Option<int> TrialEpochsOption = ExampleCommandLine.WholeNumber("--epochs-per-trial", "B and C: E, epochs per trial", 1);
    private static readonly Option<int> MorphsOption = ExampleCommandLine.WholeNumber("--max-morphs", "B and C: morphs per child, at most", 2);
    private static readonly Option<double?> FinalOption = ExampleCommandLine.Number("--final-fraction", "B and C: share of B kept for training the winner (default 0.25)", allowZero: true);
    private static readonly Option<double?> TrialLrOption = ExampleCommandLine.Number("--trial-lr", "B and C: peak learning rate of each trial's cycle (default: the recipe's 0.05; ablation)");
    private static readonly Option<double?> RampOption = ExampleCommandLine.Number("--growth-ramp", "E-grown: ramp the learning rate up over this many epochs after each growth point (default 0)", allowZero: true);
    private static readonly Option<string?> ShrinkOption = new("--shrink-perturb") { HelpName = "s,p", Description = "C: shrink-and-perturb after each morph, w = s·w + p·w0 (ablation)" };
    private static readonly Option<string> LabelOption = new("--label") { HelpName = "text", Description = "names this configuration in the results (ablations)", DefaultValueFactory = _ => "plain" };
    private static readonly Option<string> ScheduleOption = new("--growth-schedule")
    {
        HelpName = "text",
        Description = "E-grown: the growth inside one schedule",
        DefaultValueFactory = _ => "epoch 5: widen(conv1, 32) widen(conv2, 64) widen(dense1, 128)",
    };
    private static readonly Option<string?> ReportOption = new("--report") { HelpName = "folder", Description = "instead of running: summarise every seed-*.json under the folder (markdown table, plot)" };

    private static RootCommand Command() => new("""
        The growth study: at one MAC budget B, the default CNN from scratch (A, and A at B/2), random search over the
        same morph space (B), the growth search (C) and C's final architecture from scratch (D). Test accuracy is a
        monitor only. Writes one JSON file per seed; --report summarises a folder of them.

        From the repository root: dotnet run -c Release --project examples/GrowthStudy -- [options]
        """)
    {
        DataOption, TrainOption, ValidationOption, TestOption, BudgetOption, SeedsOption, ArmsOption, OutOption, ThreadsOption, InitialOption, ChildrenOption,
        TrialEpochsOption, MorphsOption, FinalOption, TrialLrOption, RampOption, ShrinkOption, LabelOption, ReportOption, ScheduleOption,
    };

    public static StudySettings? Parse(string[] args, out int exitCode) =>
        ExampleCommandLine.Parse(Command(), args, result =>
        {
            var arms = result.GetValue(ArmsOption)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (arms.FirstOrDefault(a => !AllArms.Contains(a)) is { } unknown)
                throw new ArgumentException($"Option '--arms': unknown arm '{unknown}'; the arms are {string.Join(", ", AllArms)}.");
            if (arms.Contains("D") && Array.IndexOf(arms, "C") is var c && (c < 0 || c > Array.IndexOf(arms, "D")))
                throw new ArgumentException("Option '--arms': D trains C's final architecture, so it needs C before it.");
            if (arms.Contains("E-scratch") && Array.IndexOf(arms, "E-grown") is var e && (e < 0 || e > Array.IndexOf(arms, "E-scratch")))
                throw new ArgumentException("Option '--arms': E-scratch trains E-grown's final network, so it needs E-grown before it.");
            (double, double)? shrink = null;
            if (result.GetValue(ShrinkOption) is { } sp)
            {
                var parts = sp.Split(',');
                if (parts.Length != 2 || !double.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out var s)
                    || !double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var p))
                    throw new ArgumentException($"Option '--shrink-perturb' needs two numbers 's,p', got '{sp}'.");
                shrink = (s, p);
            }
            return new StudySettings(
                Data: result.GetValue(DataOption) ?? FashionMnist.DefaultDataFolder,
                TrainImages: result.GetValue(TrainOption),
                ValidationImages: result.GetValue(ValidationOption),
                TestImages: result.GetValue(TestOption),
                BudgetEpochs: result.GetValue(BudgetOption) ?? 100,
                Seeds: result.GetValue(SeedsOption)!,
                Arms: [.. arms.Distinct()],
                Out: Path.GetFullPath(result.GetValue(OutOption) ?? Path.Combine("artifacts", "growth-study")),
                Threads: result.GetValue(ThreadsOption),
                InitialEpochs: result.GetValue(InitialOption),
                Children: result.GetValue(ChildrenOption),
                EpochsPerTrial: result.GetValue(TrialEpochsOption),
                MaxMorphs: result.GetValue(MorphsOption),
                FinalFraction: result.GetValue(FinalOption) ?? 0.25,
                TrialLearningRate: result.GetValue(TrialLrOption),
                GrowthRamp: result.GetValue(RampOption) ?? 0,
                ShrinkAndPerturb: shrink,
                Label: result.GetValue(LabelOption)!,
                Report: result.GetValue(ReportOption),
                GrowthSchedule: result.GetValue(ScheduleOption)!);
        }, out exitCode);
}
