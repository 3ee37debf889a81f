// Prints the main job's comparison tables (per seed and mean over seeds) and writes results.json.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

internal static class GrowReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>One seed's arms as a Markdown table; an arm that diverged says so, an arm that could not run says why.</summary>
    public static void PrintSeed(TextWriter console, SeedResult result, GrowSettings settings)
    {
        var p = result.Parent;
        const string notRun = "not run: the parent diverged";
        console.WriteLine();
        console.WriteLine($"Seed {result.Seed}:");
        console.WriteLine("| model | epochs | test accuracy | wall time | parameters |");
        console.WriteLine("|---|---|---|---|---|");
        Row(console, p.Name, $"{p.Epochs}", AccuracyCell(p), Seconds(p.Seconds), p.Parameters);
        if (result.Morph is { } morph && result.Refit is { } refit)
        {
            Row(console, "child, morphed (no refit)", $"{p.Epochs} + 0", Percent(morph.ChildAccuracy), Seconds(morph.MorphSeconds, "F2") + " (morph)", refit.Parameters);
            Row(console, refit.Name, $"{p.Epochs} + {refit.Epochs}", AccuracyCell(refit), $"{Seconds(p.Seconds)} + {Seconds(refit.Seconds)}", refit.Parameters);
        }
        else
        {
            Row(console, "child, morphed (no refit)", $"{p.Epochs} + 0", notRun, "", null);
            Row(console, "child, morphed + refit", $"{p.Epochs} + {settings.RefitEpochs}", notRun, "", null);
        }
        if (result.Scratch is { } scratch)
            Row(console, scratch.Name, $"{scratch.Epochs}", AccuracyCell(scratch), Seconds(scratch.Seconds), scratch.Parameters);
        else
            Row(console, "child from scratch", $"{settings.EqualBudgetEpochs}", notRun, "", null);
        if (result.LongScratch is { } longRun)
            Row(console, longRun.Name, $"{longRun.Epochs}", AccuracyCell(longRun), Seconds(longRun.Seconds), longRun.Parameters);
        else if (settings.LongScratchEpochs > 0)
            Row(console, "child from scratch (long)", $"{settings.LongScratchEpochs}", notRun, "", null);
    }

    /// <summary>
    /// The figures the study reports, as means over seeds. A mean (and a difference using it) is null when
    /// the arm diverged or did not run in some seed: the per-seed results say what each seed reached.
    /// </summary>
    public static Summary Summarize(IReadOnlyList<SeedResult> seeds, GrowSettings settings)
    {
        var morphs = seeds.Select(s => s.Morph).OfType<MorphCheck>().ToList();
        double? parent = MeanAccuracy(seeds, s => s.Parent);
        double? refit = MeanAccuracy(seeds, s => s.Refit);
        double? scratch = MeanAccuracy(seeds, s => s.Scratch);
        bool longRequested = settings.LongScratchEpochs > 0;
        return new Summary(
            Seeds: [.. seeds.Select(s => s.Seed)],
            ParentAccuracy: parent,
            MorphedAccuracy: morphs.Count == seeds.Count ? morphs.Average(m => m.ChildAccuracy) : null,
            LargestMorphAccuracyChangePp: morphs.Count > 0 ? morphs.Max(m => Math.Abs(m.ChildAccuracy - m.ParentAccuracy)) * 100 : null,
            LargestScoreDifference: morphs.Count > 0 ? morphs.Max(m => m.MaxScoreDifference) : null,
            LargestRelLogitError: morphs.Count > 0 ? morphs.Max(m => m.MaxRelLogitError) : null,
            MorphsChecked: morphs.Count,
            EveryMorphExact: morphs.All(m => m.Exact),
            RefitAccuracy: refit,
            ScratchAccuracy: scratch,
            LongScratchAccuracy: longRequested ? MeanAccuracy(seeds, s => s.LongScratch) : null,
            RefitMinusParentPp: refit - parent is { } a ? a * 100 : null,
            RefitMinusScratchPp: refit - scratch is { } b ? b * 100 : null,
            RefitEpochsToReachLongScratch: longRequested ? [.. seeds.Select(s => s.RefitEpochsToReachLongScratch)] : [],
            DivergedArms: [.. seeds.SelectMany(s => s.Arms.Where(a => a.Diverged).Select(a => $"seed {s.Seed}: {a.Name}"))],
            ParentEpochs: settings.Epochs,
            RefitEpochs: settings.RefitEpochs,
            ScratchEpochs: settings.EqualBudgetEpochs,
            LongScratchEpochs: longRequested ? settings.LongScratchEpochs : null,
            ParentSeconds: MeanSeconds(seeds, s => s.Parent),
            RefitSeconds: MeanSeconds(seeds, s => s.Refit),
            ScratchSeconds: MeanSeconds(seeds, s => s.Scratch),
            LongScratchSeconds: longRequested ? MeanSeconds(seeds, s => s.LongScratch) : null);
    }

    public static void PrintSummary(TextWriter console, Summary s, IReadOnlyList<SeedResult> seeds)
    {
        console.WriteLine();
        console.WriteLine(s.Seeds.Length > 1 ? $"Mean over seeds {string.Join(", ", s.Seeds)}:" : $"Summary (seed {s.Seeds[0]}):");
        console.WriteLine("| model | epochs | test accuracy | wall time |");
        console.WriteLine("|---|---|---|---|");
        SummaryRow(console, "parent", $"{s.ParentEpochs}", MeanCell(s.ParentAccuracy, seeds, r => r.Parent), Seconds(s.ParentSeconds, "F0"));
        SummaryRow(console, "child, morphed (no refit)", $"{s.ParentEpochs} + 0", s.MorphedAccuracy is { } m ? Percent(m) : NotRun(seeds.Where(r => r.Morph is null)), "");
        SummaryRow(console, "child, morphed + refit", $"{s.ParentEpochs} + {s.RefitEpochs}", MeanCell(s.RefitAccuracy, seeds, r => r.Refit),
            s.RefitSeconds is null ? "" : $"{Seconds(s.ParentSeconds, "F0")} + {Seconds(s.RefitSeconds, "F0")}");
        SummaryRow(console, "child from scratch", $"{s.ScratchEpochs}", MeanCell(s.ScratchAccuracy, seeds, r => r.Scratch), Seconds(s.ScratchSeconds, "F0"));
        if (s.LongScratchEpochs is { } longEpochs)
            SummaryRow(console, "child from scratch, long", $"{longEpochs}", MeanCell(s.LongScratchAccuracy, seeds, r => r.LongScratch), Seconds(s.LongScratchSeconds, "F0"));
        console.WriteLine();
        var someChecked = s.MorphsChecked < s.Seeds.Length ? $"; {s.MorphsChecked} of {s.Seeds.Length} seeds checked" : "";
        console.WriteLine(s.MorphsChecked == 0
            ? "Morph exact: not checked (no parent finished training)"
            : string.Create(Invariant, $"Morph exact: {(s.EveryMorphExact ? "yes" : "NO")} (accuracy change at most {s.LargestMorphAccuracyChangePp:F4} pp, " +
                                       $"max |Score difference| {s.LargestScoreDifference:0.00e+00}, max rel logit error {s.LargestRelLogitError:0.00e+00}){someChecked}"));
        console.WriteLine($"Child after refit vs parent: {Difference(s.RefitMinusParentPp)}");
        console.WriteLine($"Child after refit vs the same child from scratch at an equal budget ({s.ScratchEpochs} epochs): {Difference(s.RefitMinusScratchPp)}");
        if (s.LongScratchEpochs is { } longRunEpochs)
        {
            var reached = s.RefitEpochsToReachLongScratch;
            var comparable = seeds.All(r => r.Refit is { Diverged: false } && r.LongScratch is { Diverged: false });
            var text = !comparable
                ? "n/a (an arm diverged)"
                : reached.All(r => r is not null)
                ? string.Create(Invariant, $"{string.Join(", ", reached)} refit epoch(s) per seed; mean {reached.Average(r => r!.Value):F1} = " +
                                   $"{reached.Average(r => r!.Value) / longRunEpochs:P0} of the long run's {longRunEpochs} epochs " +
                                   $"({(s.ParentEpochs + reached.Average(r => r!.Value)) / longRunEpochs:P0} counting the parent's {s.ParentEpochs})")
                : $"not reached in {s.RefitEpochs} refit epochs by seed(s) {string.Join(", ", s.Seeds.Where((_, i) => reached[i] is null))}";
            console.WriteLine($"Refit epochs to reach the long scratch run's final accuracy: {text}");
        }
        if (s.DivergedArms.Length > 0)
            console.WriteLine($"Diverged: {string.Join("; ", s.DivergedArms)}");
    }

    public static void WriteJson(string path, GrowSettings settings, string dataDescription, IReadOnlyList<SeedResult> seeds, Summary summary)
    {
        var document = new
        {
            settings = new
            {
                data = dataDescription,
                architecture = settings.Architecture,
                plan = settings.Plan.ToString(),
                settings.Epochs,
                settings.RefitEpochs,
                settings.LongScratchEpochs,
                settings.BatchSize,
                settings.LearningRate,
                settings.ScratchLearningRate,
                settings.RefitLearningRate,
                settings.RefitWarmupEpochs,
                settings.ActivationLearningRateFactor,
                settings.Augmentation,
                settings.Seeds,
                threads = settings.Threads ?? TorchSharp.torch.get_num_threads(),
                settings.ParallelSeeds,
            },
            summary,
            seeds,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(document, JsonOptions));
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The final test accuracy, or where the arm diverged and its last good accuracy.</summary>
    private static string AccuracyCell(ArmResult arm)
    {
        if (arm.Divergence is not { } d)
            return Percent(arm.TestAccuracy);
        var lastGood = d.LastGoodAccuracy is { } accuracy
            ? $"last good {Percent(accuracy)} after epoch {d.LastGoodEpoch}"
            : "no epoch completed";
        return $"diverged in epoch {d.Epoch} ({lastGood})" + (d.KeptEarlierWeights ? $"; weights kept: {Percent(arm.TestAccuracy)}" : "");
    }

    /// <summary>The mean, or which seeds diverged or did not run.</summary>
    private static string MeanCell(double? mean, IReadOnlyList<SeedResult> seeds, Func<SeedResult, ArmResult?> arm)
    {
        if (mean is { } m)
            return Percent(m);
        var diverged = seeds.Where(s => arm(s) is { Diverged: true }).ToList();
        var notRun = seeds.Where(s => arm(s) is null).ToList();
        return string.Join("; ", new[]
        {
            diverged.Count > 0 ? $"diverged (seed {string.Join(", ", diverged.Select(s => s.Seed))})" : null,
            notRun.Count > 0 ? NotRun(notRun) : null,
        }.OfType<string>());
    }

    private static string NotRun(IEnumerable<SeedResult> seeds) => $"not run (seed {string.Join(", ", seeds.Select(s => s.Seed))}: the parent diverged)";

    private static double? MeanAccuracy(IReadOnlyList<SeedResult> seeds, Func<SeedResult, ArmResult?> arm) =>
        seeds.All(s => arm(s) is { Diverged: false }) ? seeds.Average(s => arm(s)!.TestAccuracy) : null;

    private static double? MeanSeconds(IReadOnlyList<SeedResult> seeds, Func<SeedResult, ArmResult?> arm)
    {
        var ran = seeds.Select(arm).OfType<ArmResult>().ToList();
        return ran.Count > 0 ? ran.Average(a => a.Seconds) : null;
    }

    private static string Percent(double fraction) => fraction.ToString("P2", Invariant);

    private static string Seconds(double? seconds, string format = "F1") => seconds is { } s ? s.ToString(format, Invariant) + " s" : "";

    private static string Difference(double? pp) => pp is { } d ? d.ToString("+0.00;-0.00", Invariant) + " pp" : "n/a (an arm diverged or did not run)";

    private static void Row(TextWriter console, string name, string epochs, string accuracy, string time, long? parameters) =>
        console.WriteLine(string.Create(Invariant, $"| {name} | {epochs} | {accuracy} | {time} | {parameters:N0} |"));

    private static void SummaryRow(TextWriter console, string name, string epochs, string accuracy, string time) =>
        console.WriteLine($"| {name} | {epochs} | {accuracy} | {time} |");

    /// <summary>The study's figures (accuracies as fractions, differences in percentage points); null where an arm diverged or did not run.</summary>
    internal sealed record Summary(int[] Seeds, double? ParentAccuracy, double? MorphedAccuracy, double? LargestMorphAccuracyChangePp,
        double? LargestScoreDifference, double? LargestRelLogitError, int MorphsChecked, bool EveryMorphExact, double? RefitAccuracy, double? ScratchAccuracy,
        double? LongScratchAccuracy, double? RefitMinusParentPp, double? RefitMinusScratchPp, IReadOnlyList<int?> RefitEpochsToReachLongScratch,
        string[] DivergedArms, int ParentEpochs, int RefitEpochs, int ScratchEpochs, int? LongScratchEpochs,
        double? ParentSeconds, double? RefitSeconds, double? ScratchSeconds, double? LongScratchSeconds);
}
