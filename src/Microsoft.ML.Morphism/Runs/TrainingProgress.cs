// Reports a training run through an ML.NET progress channel (epoch, batch, loss, accuracy), as ML.NET's TorchSharp trainers do.
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Runs;

/// <summary>
/// An <see cref="IProgressChannel"/> for one run: metrics <c>Loss</c> and <c>Accuracy</c> (the current epoch's running
/// training values), progress in <c>epochs</c> and <c>batches</c>. ML.NET pulls the current values when it asks; every
/// finished epoch is also a checkpoint (its training loss and accuracy, the epoch of how many). Disposing stops the channel.
/// </summary>
internal sealed class TrainingProgress : IDisposable
{
    private readonly IProgressChannel _channel;
    private BatchProgress? _last;

    public TrainingProgress(IProgressChannelProvider host, string name)
    {
        _channel = host.StartProgressChannel(name);
        _channel.SetHeader(new ProgressHeader(["Loss", "Accuracy"], ["epochs", "batches"]), entry =>
        {
            // Pulled from another thread: read the last batch once.
            if (Volatile.Read(ref _last) is not { } last)
                return;
            entry.SetProgress(0, last.Epoch - 1, last.MaxEpoch);
            entry.SetProgress(1, last.Batch, last.BatchesPerEpoch);
            entry.SetMetric(0, last.Loss);
            entry.SetMetric(1, last.Accuracy);
        });
    }

    /// <summary>For <see cref="TrainingHooks.BatchCompleted"/>.</summary>
    public void Batch(BatchProgress progress) => Volatile.Write(ref _last, progress);

    /// <summary>For <see cref="TrainingHooks.EpochCompleted"/>: a checkpoint per trained epoch (loss, accuracy, epoch, of epochs).</summary>
    public void Epoch(EpochMetrics metrics, int maxEpoch)
    {
        if (metrics.Epoch > 0)
            _channel.Checkpoint(metrics.TrainLoss, metrics.TrainAccuracy, metrics.Epoch, null, maxEpoch);
    }

    public void Dispose() => _channel.Dispose();
}
