// What the main job measures: each arm's per-epoch test accuracy, the preservation check, and the figures derived from them.
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

/// <summary>One epoch of one arm (epoch 0 = a refit's morphed starting weights; its train figures are NaN).</summary>
internal sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds);

/// <summary>One trained network: its final test accuracy (ML.NET's evaluator), epochs, wall time, size and curve.</summary>
internal sealed record ArmResult(string Name, int Epochs, double TestAccuracy, double Seconds, long Parameters, IReadOnlyList<EpochPoint> Curve);

/// <summary>The morph-only child against its parent on the whole test set.</summary>
internal sealed record MorphCheck(double ParentAccuracy, double ChildAccuracy, double MaxScoreDifference, int SamePrediction, int Rows,
    double MaxAbsLogitError, double MaxRelLogitError, int MarginRows, int MarginRowsAgreeing, double MorphSeconds, string Steps)
{
    /// <summary>The library's promises: Score within 1e-4, logits within 1e-4 relative (a chain), predictions agree under the margin rule.</summary>
    public bool Exact => MaxScoreDifference <= 1e-4 && MaxRelLogitError <= 1e-4 && MarginRowsAgreeing == MarginRows;
}

/// <summary>Everything one seed produced; the fitted models stay out of results.json.</summary>
internal sealed record SeedResult(int Seed, ArmResult Parent, MorphCheck Morph, ArmResult Refit, ArmResult Scratch, ArmResult? LongScratch,
    string ParentSummary, string ChildSummary,
    [property: JsonIgnore] ITransformer ParentModel, [property: JsonIgnore] ITransformer ChildModel, [property: JsonIgnore] DataViewSchema InputSchema)
{
    /// <summary>
    /// The first refit epoch (0 = the morphed weights) whose test accuracy reaches the long scratch run's final
    /// accuracy (both read from the per-epoch curves), or null when the refit never does or there is no long run.
    /// </summary>
    public int? RefitEpochsToReachLongScratch =>
        LongScratch is { Curve.Count: > 0 } longRun
            ? Refit.Curve.FirstOrDefault(p => p.TestAccuracy >= longRun.Curve[^1].TestAccuracy)?.Epoch
            : null;
}
