// The callbacks and controls of one training run (log, metrics, cancellation, refit semantics).
namespace Microsoft.ML.Morphism.Training;

/// <summary>Callbacks and controls of one training run.</summary>
public sealed class TrainingHooks
{
    /// <summary>Called after every epoch (and after the epoch-0 evaluation of the starting weights in refit mode with a validation set).</summary>
    public Action<EpochMetrics>? EpochCompleted { get; init; }

    /// <summary>Called after every training batch with its progress and the epoch's running loss and accuracy (e.g. an ML.NET progress channel).</summary>
    public Action<BatchProgress>? BatchCompleted { get; init; }

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

    /// <summary>
    /// Data measured after every epoch as a monitor only (e.g. the test set in a study): its accuracy goes to
    /// <see cref="EpochMetrics.MonitorAccuracy"/>, it never chooses weights, and its passes are not charged to
    /// <see cref="EpochMetrics.CumulativeMacs"/> or <see cref="EpochMetrics.CumulativeSeconds"/>.
    /// </summary>
    public ITrainingSet? MonitorSet { get; init; }

    /// <summary>When set, the trainer charges every training batch's wall time to its phases (for the benchmarks' breakdown).</summary>
    internal TrainingPhaseTimes? PhaseTimes { get; init; }

    /// <summary>A test hook called after every optimizer step (e.g. to corrupt a weight as a faulty kernel would).</summary>
    internal Action<Modules.NetworkModule>? AfterStep { get; init; }

    /// <summary>A test hook called at each growth point once the grown module and its optimizer (state carried) are ready.</summary>
    internal Action<GrowthSnapshot>? GrowthApplied { get; init; }
}

/// <summary>A growth point as the test hook sees it: the parent (weights and optimizer state read from training), the morph outcome, the child's module and optimizer.</summary>
internal sealed record GrowthSnapshot(int Epoch, Networks.NetworkDescription Parent, Networks.NetworkWeights ParentWeights, Morphs.ParameterStates ParentStates,
    Morphs.MorphChainOutcome Chain, Modules.NetworkModule ChildModule, TorchSharp.Modules.OptimizerHelper ChildOptimizer);

/// <summary>Where a run is after a batch: epoch (1-based) of how many, batch (1-based) of about how many in the epoch, and the epoch's loss and accuracy so far.</summary>
public sealed record BatchProgress(int Epoch, int MaxEpoch, int Batch, long BatchesPerEpoch, double Loss, double Accuracy);
