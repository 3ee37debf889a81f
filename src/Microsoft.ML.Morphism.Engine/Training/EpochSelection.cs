// Which epoch's weights a training run keeps: the best by validation loss, and when to stop early.
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Tracks the lowest validation loss and its weights (the starting weights can compete as epoch 0),
/// and applies the early-stopping rule: <paramref name="patience"/> epochs in a row without an improvement of
/// <paramref name="metric"/> by more than <paramref name="minDelta"/>. The kept weights are the lowest validation
/// loss's whatever the metric watched.
/// </summary>
internal sealed class EpochSelection(bool selectBest, int? patience, EarlyStoppingMetric metric = EarlyStoppingMetric.ValidationLoss, double minDelta = 0)
{
    private double _bestLoss = double.PositiveInfinity;
    // The watched metric's best, as a value to minimise (accuracy negated).
    private double _bestWatched = double.PositiveInfinity;
    private int _epochsWithoutImprovement;

    /// <summary>The kept weights so far, or null before any.</summary>
    public NetworkWeights? Best { get; private set; }

    /// <summary>The epoch of <see cref="Best"/> (0 = the starting weights).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>An early stop: the weights to return (null: the module's current ones), their epoch and a log sentence.</summary>
    public sealed record Stop(NetworkWeights? Weights, int Epoch, string Message);

    /// <summary>The starting weights as candidate epoch 0, with their validation loss and accuracy when measured.</summary>
    public void Start(NetworkWeights weights, double? validationLoss, double? validationAccuracy = null)
    {
        Best = weights;
        if (validationLoss is { } loss)
        {
            _bestLoss = loss;
            _bestWatched = Watched(loss, validationAccuracy ?? 0);
        }
    }

    private double Watched(double loss, double accuracy) => metric == EarlyStoppingMetric.ValidationAccuracy ? -accuracy : loss;

    /// <summary>
    /// Carries the kept weights across a growth point: <paramref name="morph"/> maps them (and their epoch) to the same
    /// function on the grown network. Their validation loss is unchanged, as the morph is exact.
    /// </summary>
    public void Grow(Func<NetworkWeights, int, NetworkWeights> morph)
    {
        if (Best is not null)
            Best = morph(Best, BestEpoch);
    }

    /// <summary>Offers an epoch's validation loss and accuracy; returns a stop when the patience ran out.</summary>
    public Stop? Offer(int epoch, double validationLoss, double validationAccuracy, NetworkModule module)
    {
        if (validationLoss < _bestLoss)
            (Best, _bestLoss, BestEpoch) = (module.ReadWeights(), validationLoss, epoch);
        double watched = Watched(validationLoss, validationAccuracy);
        if (watched < _bestWatched - minDelta)
        {
            (_bestWatched, _epochsWithoutImprovement) = (watched, 0);
            return null;
        }
        if (patience is not { } p || ++_epochsWithoutImprovement < p)
            return null;
        var what = metric == EarlyStoppingMetric.ValidationAccuracy ? "validation accuracy" : "validation loss";
        var delta = minDelta > 0 ? $" by more than {minDelta}" : "";
        var kept = selectBest ? $"keeping epoch {BestEpoch}" : $"keeping the last epoch (best was {BestEpoch})";
        var message = $"Early stopping after epoch {epoch}: {what} has not improved{delta} for {p} epoch(s); {kept}.";
        return selectBest ? new Stop(Best!, BestEpoch, message) : new Stop(null, epoch, message);
    }
}
