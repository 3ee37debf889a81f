// Where a training epoch's wall time goes, phase by phase: read by the benchmarks' breakdown, not part of the public API.
using System.Diagnostics;

namespace Microsoft.ML.Morphism.Training;

/// <summary>The phases of one training batch, in the order the trainer runs them.</summary>
internal enum TrainingPhase
{
    /// <summary>The training set's enumerator producing the next batch in its reused buffers (cursor, decoding, copies), plus disposing the previous batch's tensors.</summary>
    Data,
    /// <summary>Copying the batch buffers into the reused input tensors (and augmentation).</summary>
    Upload,
    /// <summary>Forward pass, loss, zeroing gradients and the backward pass.</summary>
    ForwardBackward,
    /// <summary>The optimizer step and the P-activation clamp.</summary>
    Step,
    /// <summary>Everything else per batch: cancellation checks, the learning rate, reading the loss and accuracy, the divergence rule.</summary>
    Bookkeeping,
}

/// <summary>
/// Accumulates wall time per <see cref="TrainingPhase"/> while a trainer runs (see <c>TrainingHooks.PhaseTimes</c>).
/// Laps cost two timestamp reads per phase; CPU tensors are computed synchronously, so a lap measures
/// the work itself. Read and <see cref="Reset"/> from <c>EpochCompleted</c> to get per-epoch figures.
/// </summary>
internal sealed class TrainingPhaseTimes
{
    private readonly long[] _ticks = new long[Enum.GetValues<TrainingPhase>().Length];
    private long _mark;

    /// <summary>Batches timed since the last reset.</summary>
    public int Batches { get; private set; }

    /// <summary>Time spent in <paramref name="phase"/> since the last reset.</summary>
    public TimeSpan this[TrainingPhase phase] => Stopwatch.GetElapsedTime(0, _ticks[(int)phase]);

    /// <summary>The sum over all phases.</summary>
    public TimeSpan Total => Stopwatch.GetElapsedTime(0, _ticks.Sum());

    public void Reset()
    {
        Array.Clear(_ticks);
        Batches = 0;
    }

    /// <summary>Starts the clock (before the first batch is requested).</summary>
    internal void Start() => _mark = Stopwatch.GetTimestamp();

    /// <summary>Charges the time since the previous lap to <paramref name="phase"/>.</summary>
    internal void Lap(TrainingPhase phase)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)phase] += now - _mark;
        _mark = now;
        if (phase == TrainingPhase.Upload)
            Batches++;
    }
}
