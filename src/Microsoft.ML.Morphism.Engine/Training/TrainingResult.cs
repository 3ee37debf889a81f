// What a training run returns: the weights, the per-epoch history and why it stopped.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>Why training stopped.</summary>
public enum StopReason
{
    /// <summary>All epochs ran.</summary>
    Completed,
    /// <summary>Validation loss stopped improving for the patience.</summary>
    EarlyStopped,
    /// <summary>The loss became non-finite or blew up; the best (or starting) weights were returned.</summary>
    Diverged,
}

/// <summary>The trained weights and how training went.</summary>
/// <param name="Weights">The weights training returns: the best by validation loss when a validation set was given, else the last.</param>
/// <param name="History">Metrics per epoch, in order (epoch 0 first when the starting weights were evaluated).</param>
/// <param name="Reason">Why training stopped.</param>
/// <param name="Message">A sentence for logs when training stopped early.</param>
/// <param name="SelectedEpoch">The epoch whose weights were returned (0 = the starting weights).</param>
public sealed record TrainingResult(NetworkWeights Weights, IReadOnlyList<EpochMetrics> History, StopReason Reason, string? Message, int SelectedEpoch);
