// What training reports: per-epoch metrics, why it stopped, and the weights it returns.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>Metrics of one finished epoch (epoch 0 = the starting weights, evaluated only when asked for).</summary>
/// <param name="Epoch">1-based epoch (0 for the starting weights).</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's batches (train mode, as trained); NaN for epoch 0.</param>
/// <param name="TrainAccuracy">Fraction of training examples classified correctly during the epoch; NaN for epoch 0.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation set (eval mode), or null.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set, or null.</param>
/// <param name="LearningRate">Learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
/// <param name="Examples">Training examples seen in the epoch.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double Seconds, long Examples);

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

/// <summary>A non-finite or exploding loss while training from scratch, naming where it happened.</summary>
public sealed class TrainingDivergedException(string message, int epoch, int batch) : InvalidOperationException(message)
{
    /// <summary>1-based epoch.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>1-based batch within the epoch.</summary>
    public int Batch { get; } = batch;
}

/// <summary>Callbacks and controls of one training run.</summary>
public sealed class TrainingHooks
{
    /// <summary>Called after every epoch (and after the epoch-0 evaluation of the starting weights in refit mode with a validation set).</summary>
    public Action<EpochMetrics>? EpochCompleted { get; init; }

    /// <summary>Receives one-line log messages (epoch summaries, stop reasons).</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Checked before every batch; cancellation throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Called before every batch (e.g. an ML.NET host's CheckAlive); may throw to stop.</summary>
    public Action? CheckAlive { get; init; }

    /// <summary>
    /// Refit mode: evaluate the starting weights as epoch 0 (a candidate for the best weights) and, on
    /// divergence, return the best weights by validation loss — or the starting weights without a
    /// validation set — instead of throwing.
    /// </summary>
    public bool StartingWeightsAreACandidate { get; init; }

    /// <summary>
    /// With a validation set, return the weights of the epoch with the lowest validation loss (default
    /// true). False makes the validation set a monitor only (e.g. to plot test accuracy per epoch
    /// without selecting on it): the last epoch's weights are returned.
    /// </summary>
    public bool SelectBestValidationEpoch { get; init; } = true;

    /// <summary>When set, the trainer charges every training batch's wall time to its phases (for the benchmarks' breakdown).</summary>
    internal TrainingPhaseTimes? PhaseTimes { get; init; }

    /// <summary>A test hook called after every optimizer step (e.g. to corrupt a weight as a faulty kernel would).</summary>
    internal Action<Modules.NetworkModule>? AfterStep { get; init; }
}
