// Early stopping as ML.NET's image trainer says it: a metric, a patience and a minimum change, in one criteria object.
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism;

/// <summary>
/// When training stops before <c>MaxEpoch</c>, like ML.NET's <c>ImageClassificationTrainer.EarlyStopping</c>: after
/// <see cref="Patience"/> epochs in a row in which <see cref="Metric"/> on the validation set did not improve by more than
/// <see cref="MinDelta"/>. It needs validation data (<c>ValidationSet</c> or <c>ValidationSetFraction</c>); the weights kept
/// are those of the epoch with the lowest validation loss (<c>SelectBestValidationEpoch</c>, default) or the last epoch's.
/// </summary>
public sealed class EarlyStopping
{
    /// <summary>Early stopping after <paramref name="patience"/> epochs without an improvement of <paramref name="metric"/> by more than <paramref name="minDelta"/>.</summary>
    /// <param name="patience">Epochs in a row without improvement before stopping (positive). Default 3.</param>
    /// <param name="minDelta">The least change that counts as an improvement (a loss fall, or an accuracy rise as a fraction, e.g. 0.001 = 0.1 pp). Default 0.</param>
    /// <param name="metric">What is watched on the validation set. Default its loss (smoother than accuracy on small validation sets).</param>
    public EarlyStopping(int patience = 3, double minDelta = 0, EarlyStoppingMetric metric = EarlyStoppingMetric.ValidationLoss)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(patience);
        if (!(minDelta >= 0) || !double.IsFinite(minDelta))
            throw new ArgumentOutOfRangeException(nameof(minDelta), minDelta, "The minimum change must be a finite number of at least 0.");
        if (!Enum.IsDefined(metric))
            throw new ArgumentOutOfRangeException(nameof(metric), metric, "Not a metric early stopping knows.");
        (Patience, MinDelta, Metric) = (patience, minDelta, metric);
    }

    /// <summary>Epochs in a row without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>The least change that counts as an improvement.</summary>
    public double MinDelta { get; }

    /// <summary>What is watched on the validation set.</summary>
    public EarlyStoppingMetric Metric { get; }
}
