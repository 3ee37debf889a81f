// What the main job measures: each arm's per-epoch test accuracy, the preservation check, and the figures derived from them.
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

/// <summary>One epoch of one arm (epoch 0 = a refit's morphed starting weights; its train figures are NaN).</summary>
internal sealed record EpochPoint(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Seconds);

/// <summary>
/// How an arm's training diverged (a non-finite or exploding loss). <see cref="LastGoodEpoch"/> and
/// <see cref="LastGoodAccuracy"/> are the last epoch reported before it (null when none was).
/// </summary>
/// <param name="Epoch">The 1-based epoch in which it diverged.</param>
/// <param name="Batch">The 1-based batch, when the library said (a refit's divergence guard does not throw, so it is not known).</param>
/// <param name="KeptEarlierWeights">
/// True for a refit: the library's guard returned earlier weights (the arm's test accuracy is theirs); false when
/// training threw and the arm has no model (its test accuracy is the last good one).
/// </param>
/// <param name="Message">The library's sentence, or what the job saw.</param>
internal sealed record Divergence(int Epoch, int? Batch, int? LastGoodEpoch, double? LastGoodAccuracy, bool KeptEarlierWeights, string Message)
{
    /// <summary>The divergence of an arm whose reported epochs are <paramref name="curve"/>.</summary>
    public static Divergence After(IReadOnlyList<EpochPoint> curve, int epoch, int? batch, bool keptEarlierWeights, string message) =>
        new(epoch, batch, curve.Count > 0 ? curve[^1].Epoch : null, curve.Count > 0 ? curve[^1].TestAccuracy : null, keptEarlierWeights, message);
}

/// <summary>
/// One trained network: its test accuracy (ML.NET's evaluator on the model the arm returned; for an arm
/// that diverged without a model, its last good epoch's accuracy, NaN when no epoch completed), epochs,
/// wall time (until it stopped), size, curve, and how it diverged if it did.
/// </summary>
internal sealed record ArmResult(string Name, int Epochs, double TestAccuracy, double Seconds, long Parameters, IReadOnlyList<EpochPoint> Curve,
    Divergence? Divergence = null)
{
    public bool Diverged => Divergence is not null;
}

/// <summary>The morph-only child against its parent on the whole test set.</summary>
internal sealed record MorphCheck(double ParentAccuracy, double ChildAccuracy, double MaxScoreDifference, int SamePrediction, int Rows,
    double MaxAbsLogitError, double MaxRelLogitError, int MarginRows, int MarginRowsAgreeing, double MorphSeconds, string Steps)
{
    /// <summary>The library's promises: Score within 1e-4, logits within 1e-4 relative (a chain), predictions agree under the margin rule.</summary>
    public bool Exact => MaxScoreDifference <= 1e-4 && MaxRelLogitError <= 1e-4 && MarginRowsAgreeing == MarginRows;
}

/// <summary>
/// Everything one seed produced; the fitted models stay out of results.json. When the parent diverged, nothing
/// after it ran: <see cref="Morph"/>, <see cref="Refit"/>, <see cref="Scratch"/>, the summaries' child and the models are null.
/// </summary>
internal sealed record SeedResult(int Seed, ArmResult Parent, MorphCheck? Morph, ArmResult? Refit, ArmResult? Scratch, ArmResult? LongScratch,
    string ParentSummary, string? ChildSummary,
    [property: JsonIgnore] ITransformer? ParentModel, [property: JsonIgnore] ITransformer? ChildModel, [property: JsonIgnore] DataViewSchema InputSchema)
{
    /// <summary>Every arm that ran, in the order the job runs them.</summary>
    [JsonIgnore]
    public IEnumerable<ArmResult> Arms => new[] { Parent, Refit, Scratch, LongScratch }.OfType<ArmResult>();

    /// <summary>
    /// The first refit epoch (0 = the morphed weights) whose test accuracy reaches the long scratch run's final
    /// accuracy (both read from the per-epoch curves), or null when the refit never does or there is no long run
    /// (or it diverged).
    /// </summary>
    public int? RefitEpochsToReachLongScratch =>
        LongScratch is { Diverged: false, Curve.Count: > 0 } longRun && Refit is { } refit
            ? refit.Curve.FirstOrDefault(p => p.TestAccuracy >= longRun.Curve[^1].TestAccuracy)?.Epoch
            : null;
}
