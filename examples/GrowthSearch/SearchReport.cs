// What one growth search came to (totals read from its lineage), printed and written to results.json with the settings and the lineage.
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Search;

namespace Microsoft.ML.Morphism.Examples.GrowthSearch;

/// <summary>The search's totals. Validation accuracies chose; <see cref="TestAccuracy"/> is a monitor only.</summary>
/// <param name="Macs">Training MACs the whole search spent (trials, morph verification, the final training).</param>
/// <param name="SearchSeconds">Wall time of the search itself (the trainer's clock).</param>
/// <param name="WallSeconds">Wall time of the whole run, process start to the results (set last).</param>
/// <param name="Rounds">Rounds completed.</param>
/// <param name="ChildTrials">Children trained (diverged ones included).</param>
/// <param name="DivergedChildren">Children whose training diverged (discarded).</param>
/// <param name="NotExactChildren">Children discarded untrained because their morph's verification failed.</param>
/// <param name="StopReason">Why the search phase ended, as the search said it.</param>
/// <param name="StartValidationAccuracy">The start network's validation accuracy after its initial epochs.</param>
/// <param name="FinalValidationAccuracy">The result's validation accuracy (after the final training).</param>
/// <param name="FinalEpochs">Epochs of the final training (0 when the budget left none).</param>
/// <param name="TestAccuracy">The result's accuracy on the test images: a monitor, never used to choose.</param>
/// <param name="FinalNetwork">The result's network, text form.</param>
/// <param name="FinalParameters">Its trainable parameters.</param>
/// <param name="FinalMacsPerImage">Its forward MACs per image.</param>
/// <param name="Morphs">The morphs from the start network to the result, plan text ("" when the start network won).</param>
internal sealed record SearchTotals(long Macs, double SearchSeconds, double? WallSeconds, int Rounds, int ChildTrials, int DivergedChildren,
    int NotExactChildren, string? StopReason, double? StartValidationAccuracy, double? FinalValidationAccuracy, int FinalEpochs, double TestAccuracy,
    string FinalNetwork, long FinalParameters, long FinalMacsPerImage, string Morphs)
{
    public static SearchTotals Of(SearchLineage lineage, MorphableImageClassifierTransformer classifier, string? stopReason, double testAccuracy)
    {
        var trials = lineage.Trials;
        var children = trials.Where(t => t.Kind == TrialKind.Child).ToList();
        return new SearchTotals(
            Macs: trials.Count > 0 ? trials.Max(t => t.CumulativeMacs) : 0,
            SearchSeconds: trials.Count > 0 ? trials.Max(t => t.CumulativeSeconds) : 0,
            WallSeconds: null,
            Rounds: trials.Where(t => t.Kind == TrialKind.Incumbent).Select(t => t.Round).Distinct().Count(),
            ChildTrials: children.Count(t => t.Status != TrialStatus.NotExact) + lineage.DroppedTrials,
            DivergedChildren: children.Count(t => t.Status == TrialStatus.Diverged),
            NotExactChildren: children.Count(t => t.Status == TrialStatus.NotExact),
            StopReason: stopReason,
            StartValidationAccuracy: trials.FirstOrDefault(t => t.Kind == TrialKind.Start)?.ValidationAccuracy,
            FinalValidationAccuracy: lineage.IncumbentPath.LastOrDefault()?.ValidationAccuracy,
            FinalEpochs: trials.Where(t => t.Kind == TrialKind.Final).Sum(t => t.Epochs),
            TestAccuracy: testAccuracy,
            FinalNetwork: classifier.Network.ToString(),
            FinalParameters: classifier.Network.TrainableParameterCount,
            FinalMacsPerImage: classifier.Network.ForwardMacs,
            Morphs: string.Join(" ", classifier.MorphHistory));
    }
}

internal static class SearchReport
{
    public static void Print(TextWriter output, SearchTotals totals)
    {
        output.WriteLine();
        output.WriteLine($"Search: {totals.Rounds} round(s), {totals.ChildTrials} child trial(s)" +
                         (totals.DivergedChildren + totals.NotExactChildren > 0
                             ? $" ({totals.DivergedChildren} diverged, {totals.NotExactChildren} more discarded untrained: morph not exact)"
                             : "") +
                         $", {totals.Macs:0.00e+00} training MACs, {totals.SearchSeconds:F1} s; final training {totals.FinalEpochs} epoch(s)");
        if (totals.StopReason is { } reason)
            output.WriteLine($"  {reason}");
        output.WriteLine($"Result: {totals.FinalParameters:N0} parameters, {totals.FinalMacsPerImage:N0} MACs per image");
        output.WriteLine($"  validation accuracy (chose every step): start {Percent(totals.StartValidationAccuracy)}, result {Percent(totals.FinalValidationAccuracy)}");
        output.WriteLine($"  test accuracy       {totals.TestAccuracy:P2} (a monitor only: the search never saw the test images)");
    }

    /// <summary>Settings, totals and the lineage (<see cref="SearchLineage.ToJson"/>'s form) as one JSON document.</summary>
    public static void WriteJson(string path, SearchSettings settings, string dataDescription, SearchTotals totals, SearchLineage lineage)
    {
        using var lineageJson = JsonDocument.Parse(lineage.ToJson());
        var document = new
        {
            settings = new
            {
                data = dataDescription,
                budgetSeconds = settings.Budget?.TotalSeconds,
                settings.MacBudget,
                settings.MaxTrials,
                settings.Seed,
                children = settings.Children,
                settings.EpochsPerTrial,
                settings.InitialEpochs,
                settings.MaxMorphs,
                settings.FinalEpochs,
                settings.ValidationFraction,
                architecture = settings.Architecture,
                settings.LearningRate,
                settings.Augmentation,
                threads = settings.Threads ?? TorchSharp.torch.get_num_threads(),
            },
            totals,
            incumbentPath = lineage.IncumbentPath.Select(t => t.Id),
            lineage = lineageJson.RootElement,
        };
        AtomicWrite(path, JsonSerializer.Serialize(document, JsonOptions));
    }

    /// <summary>Writes through a temp file and a rename, like the model: a failed run leaves the previous results whole.</summary>
    private static void AtomicWrite(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    private static string Percent(double? value) => value is { } v ? v.ToString("P2", System.Globalization.CultureInfo.CurrentCulture) : "-";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
