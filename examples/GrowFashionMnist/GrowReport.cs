// Prints the main job's comparison tables (per seed and mean over seeds) and writes results.json.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

internal static class GrowReport
{
    /// <summary>One seed's arms as a Markdown table.</summary>
    public static void PrintSeed(TextWriter console, SeedResult result)
    {
        var p = result.Parent;
        console.WriteLine();
        console.WriteLine($"Seed {result.Seed}:");
        console.WriteLine("| model | epochs | test accuracy | wall time | parameters |");
        console.WriteLine("|---|---|---|---|---|");
        Row(console, p.Name, $"{p.Epochs}", p.TestAccuracy, $"{p.Seconds:F1} s", p.Parameters);
        Row(console, "child, morphed (no refit)", $"{p.Epochs} + 0", result.Morph.ChildAccuracy, $"{result.Morph.MorphSeconds:F2} s (morph)", result.Refit.Parameters);
        Row(console, result.Refit.Name, $"{p.Epochs} + {result.Refit.Epochs}", result.Refit.TestAccuracy, $"{p.Seconds:F1} + {result.Refit.Seconds:F1} s", result.Refit.Parameters);
        Row(console, result.Scratch.Name, $"{result.Scratch.Epochs}", result.Scratch.TestAccuracy, $"{result.Scratch.Seconds:F1} s", result.Scratch.Parameters);
        if (result.LongScratch is { } longRun)
            Row(console, longRun.Name, $"{longRun.Epochs}", longRun.TestAccuracy, $"{longRun.Seconds:F1} s", longRun.Parameters);
    }

    /// <summary>The figures the study reports, as means over seeds.</summary>
    public static Summary Summarize(IReadOnlyList<SeedResult> seeds)
    {
        double Mean(Func<SeedResult, double> f) => seeds.Average(f);
        var reach = seeds.Select(s => s.RefitEpochsToReachLongScratch).ToList();
        var first = seeds[0];
        return new Summary(
            Seeds: [.. seeds.Select(s => s.Seed)],
            ParentAccuracy: Mean(s => s.Parent.TestAccuracy),
            MorphedAccuracy: Mean(s => s.Morph.ChildAccuracy),
            LargestMorphAccuracyChangePp: seeds.Max(s => Math.Abs(s.Morph.ChildAccuracy - s.Morph.ParentAccuracy)) * 100,
            LargestScoreDifference: seeds.Max(s => s.Morph.MaxScoreDifference),
            LargestRelLogitError: seeds.Max(s => s.Morph.MaxRelLogitError),
            EveryMorphExact: seeds.All(s => s.Morph.Exact),
            RefitAccuracy: Mean(s => s.Refit.TestAccuracy),
            ScratchAccuracy: Mean(s => s.Scratch.TestAccuracy),
            LongScratchAccuracy: first.LongScratch is null ? null : Mean(s => s.LongScratch!.TestAccuracy),
            RefitMinusParentPp: Mean(s => s.Refit.TestAccuracy - s.Parent.TestAccuracy) * 100,
            RefitMinusScratchPp: Mean(s => s.Refit.TestAccuracy - s.Scratch.TestAccuracy) * 100,
            RefitEpochsToReachLongScratch: first.LongScratch is null ? [] : reach,
            ParentEpochs: first.Parent.Epochs,
            RefitEpochs: first.Refit.Epochs,
            ScratchEpochs: first.Scratch.Epochs,
            LongScratchEpochs: first.LongScratch?.Epochs,
            ParentSeconds: Mean(s => s.Parent.Seconds),
            RefitSeconds: Mean(s => s.Refit.Seconds),
            ScratchSeconds: Mean(s => s.Scratch.Seconds),
            LongScratchSeconds: first.LongScratch is null ? null : Mean(s => s.LongScratch!.Seconds));
    }

    public static void PrintSummary(TextWriter console, Summary s)
    {
        var c = CultureInfo.InvariantCulture;
        console.WriteLine();
        console.WriteLine(s.Seeds.Length > 1 ? $"Mean over seeds {string.Join(", ", s.Seeds)}:" : $"Summary (seed {s.Seeds[0]}):");
        console.WriteLine("| model | epochs | test accuracy | wall time |");
        console.WriteLine("|---|---|---|---|");
        console.WriteLine(string.Create(c, $"| parent | {s.ParentEpochs} | {s.ParentAccuracy:P2} | {s.ParentSeconds:F0} s |"));
        console.WriteLine(string.Create(c, $"| child, morphed (no refit) | {s.ParentEpochs} + 0 | {s.MorphedAccuracy:P2} | |"));
        console.WriteLine(string.Create(c, $"| child, morphed + refit | {s.ParentEpochs} + {s.RefitEpochs} | {s.RefitAccuracy:P2} | {s.ParentSeconds:F0} + {s.RefitSeconds:F0} s |"));
        console.WriteLine(string.Create(c, $"| child from scratch | {s.ScratchEpochs} | {s.ScratchAccuracy:P2} | {s.ScratchSeconds:F0} s |"));
        if (s.LongScratchAccuracy is { } longAccuracy)
            console.WriteLine(string.Create(c, $"| child from scratch, long | {s.LongScratchEpochs} | {longAccuracy:P2} | {s.LongScratchSeconds:F0} s |"));
        console.WriteLine();
        console.WriteLine(string.Create(c, $"Morph exact: {(s.EveryMorphExact ? "yes" : "NO")} (accuracy change at most {s.LargestMorphAccuracyChangePp:F4} pp, " +
                                           $"max |Score difference| {s.LargestScoreDifference:0.00e+00}, max rel logit error {s.LargestRelLogitError:0.00e+00})"));
        console.WriteLine(string.Create(c, $"Child after refit vs parent: {s.RefitMinusParentPp:+0.00;-0.00} pp"));
        console.WriteLine(string.Create(c, $"Child after refit vs the same child from scratch at an equal budget ({s.ScratchEpochs} epochs): {s.RefitMinusScratchPp:+0.00;-0.00} pp"));
        if (s.LongScratchEpochs is { } longEpochs)
        {
            var reached = s.RefitEpochsToReachLongScratch;
            var text = reached.All(r => r is not null)
                ? string.Create(c, $"{string.Join(", ", reached)} refit epoch(s) per seed; mean {reached.Average(r => r!.Value):F1} = " +
                                   $"{reached.Average(r => r!.Value) / longEpochs:P0} of the long run's {longEpochs} epochs " +
                                   $"({(s.ParentEpochs + reached.Average(r => r!.Value)) / longEpochs:P0} counting the parent's {s.ParentEpochs})")
                : $"not reached in {s.RefitEpochs} refit epochs by seed(s) {string.Join(", ", s.Seeds.Where((_, i) => reached[i] is null))}";
            console.WriteLine($"Refit epochs to reach the long scratch run's final accuracy: {text}");
        }
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

    private static void Row(TextWriter console, string name, string epochs, double accuracy, string time, long parameters) =>
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {epochs} | {accuracy:P2} | {time} | {parameters:N0} |"));

    /// <summary>The study's figures (accuracies as fractions, differences in percentage points).</summary>
    internal sealed record Summary(int[] Seeds, double ParentAccuracy, double MorphedAccuracy, double LargestMorphAccuracyChangePp,
        double LargestScoreDifference, double LargestRelLogitError, bool EveryMorphExact, double RefitAccuracy, double ScratchAccuracy,
        double? LongScratchAccuracy, double RefitMinusParentPp, double RefitMinusScratchPp, IReadOnlyList<int?> RefitEpochsToReachLongScratch,
        int ParentEpochs, int RefitEpochs, int ScratchEpochs, int? LongScratchEpochs,
        double ParentSeconds, double RefitSeconds, double ScratchSeconds, double? LongScratchSeconds);
}
