// Which epoch's weights a training run keeps: the best by validation loss, and when to stop early.
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Tracks the lowest validation loss and its weights (the starting weights can compete as epoch 0),
/// and applies the early-stopping patience.
/// </summary>
internal sealed class EpochSelection(bool selectBest, int? patience)
{
    private double _bestLoss = double.PositiveInfinity;
    private int _epochsWithoutImprovement;

    /// <summary>The kept weights so far, or null before any.</summary>
    public NetworkWeights? Best { get; private set; }

    /// <summary>The epoch of <see cref="Best"/> (0 = the starting weights).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>An early stop: the weights to return (null: the module's current ones), their epoch and a log sentence.</summary>
    public sealed record Stop(NetworkWeights? Weights, int Epoch, string Message);

    /// <summary>The starting weights as candidate epoch 0, with their validation loss when measured.</summary>
    public void Start(NetworkWeights weights, double? validationLoss)
    {
        Best = weights;
        if (validationLoss is { } loss)
            _bestLoss = loss;
    }

    /// <summary>
    /// Carries the kept weights across a growth point: <paramref name="morph"/> maps them (and their epoch) to the same
    /// function on the grown network. Their validation loss is unchanged, as the morph is exact.
    /// </summary>
    public void Grow(Func<NetworkWeights, int, NetworkWeights> morph)
    {
        if (Best is not null)
            Best = morph(Best, BestEpoch);
    }

    /// <summary>Offers an epoch's validation loss; returns a stop when the patience ran out.</summary>
    public Stop? Offer(int epoch, double validationLoss, NetworkModule module)
    {
        if (validationLoss < _bestLoss)
        {
            (Best, _bestLoss, BestEpoch, _epochsWithoutImprovement) = (module.ReadWeights(), validationLoss, epoch, 0);
            return null;
        }
        if (patience is not { } p || ++_epochsWithoutImprovement < p)
            return null;
        var kept = selectBest ? $"keeping epoch {BestEpoch}" : $"keeping the last epoch (best was {BestEpoch})";
        var message = $"Early stopping after epoch {epoch}: validation loss has not improved for {p} epoch(s); {kept}.";
        return selectBest ? new Stop(Best!, BestEpoch, message) : new Stop(null, epoch, message);
    }
}
