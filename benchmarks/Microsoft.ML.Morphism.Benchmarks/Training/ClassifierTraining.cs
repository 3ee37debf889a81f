// Trains the ML.NET classifier the way a user does (catalog trainer on an IDataView) and keeps the per-epoch metrics.
using System.Diagnostics;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Benchmarks.Training;

/// <summary>A fitted classifier, its epochs as the trainer reported them, and the wall time of the whole <c>Fit</c>.</summary>
internal sealed record FitResult(MorphableImageClassifierTransformer Model, IReadOnlyList<EpochMetrics> Epochs, double FitSeconds)
{
    /// <summary>Images per second of each epoch after the first (the first warms up allocators and caches).</summary>
    public IEnumerable<double> SteadyImagesPerSecond => Epochs.Skip(Epochs.Count > 1 ? 1 : 0).Select(e => e.Examples / e.Seconds);
}

internal static class ClassifierTraining
{
    /// <summary>
    /// <c>ml.MulticlassClassification.Trainers.MorphableImageClassifier</c> with the trainer's defaults
    /// (SGD + Nesterov, cosine schedule, weight decay) except the batch, the epochs, the threads, the
    /// seed and the feature cache. The default network is left to the trainer (no Architecture set).
    /// </summary>
    public static FitResult Fit(MLContext ml, IDataView data, NetworkDescription network, int batchSize, int epochs, int? threads,
        bool cacheFeatures = true, Action<EpochMetrics>? onEpoch = null)
    {
        var history = new List<EpochMetrics>();
        var options = new MorphableImageClassifierTrainer.Options
        {
            ImageHeight = network.Input.Height,
            ImageWidth = network.Input.Width,
            ImageChannels = network.Input.Channels,
            Network = network.Equals(BenchmarkNetworks.Default) ? null : network,
            BatchSize = batchSize,
            MaxEpoch = epochs,
            Threads = threads,
            Seed = 1,
            CacheFeatures = cacheFeatures,
            MetricsCallback = metrics =>
            {
                history.Add(metrics);
                onEpoch?.Invoke(metrics);
            },
        };
        var clock = Stopwatch.StartNew();
        var model = ml.MulticlassClassification.Trainers.MorphableImageClassifier(options).Fit(data);
        double seconds = clock.Elapsed.TotalSeconds;
        if (!model.Network.Equals(network))
            throw new InvalidOperationException($"The trainer built {model.Network}, not the benchmark's {network}.");
        return new FitResult(model, history, seconds);
    }
}
