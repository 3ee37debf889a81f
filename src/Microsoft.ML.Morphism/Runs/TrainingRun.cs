// One training or refit run inside an ML.NET host: data to batches, device and threads, progress to the host's channel.
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Internal;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Runs;

/// <summary>Shared by the trainer and the morph-and-refit estimator.</summary>
internal static class TrainingRun
{
    public sealed record Settings(int? Threads, string? Device, bool CacheFeatures, long CacheLimitMegabytes,
        Action<EpochMetrics>? MetricsCallback, bool Refit, bool SelectBestValidationEpoch, double? ValidationSetFraction,
        CancellationToken CancellationToken);

    public static TrainingResult Run(IHost host, string what, NetworkDescription network, NetworkWeights weights, TrainingRecipe recipe,
        IDataView train, IDataView? validation, FeatureColumn features, LabelColumn labels, Settings settings, GrowthSchedule? growth = null)
    {
        using var channel = host.Start(what);
        var data = Prepare(host, channel, network, train, validation, features, labels, settings, recipe.Seed);
        channel.Info($"{what} {network.TrainableParameterCount:N0} parameters on {data.DeviceName}: {data.Train.Count} rows ({(data.Cached ? "cached in memory" : "streamed")}), " +
                     $"{recipe.MaxEpoch} epoch(s), batch {recipe.BatchSize}, {recipe.Optimizer} peak lr {recipe.LearningRate}.");

        var trainer = new NetworkTrainer(recipe, data.Device);
        using var progress = new TrainingProgress(host, what);
        return trainer.Train(network, weights, data.Train, data.Validation, new TrainingHooks
        {
            CancellationToken = settings.CancellationToken,
            CheckAlive = host.CheckAlive,
            BatchCompleted = progress.Batch,
            EpochCompleted = metrics =>
            {
                progress.Epoch(metrics, recipe.MaxEpoch);
                settings.MetricsCallback?.Invoke(metrics);
            },
            Log = message => channel.Info(message),
            StartingWeightsAreACandidate = settings.Refit,
            SelectBestValidationEpoch = settings.SelectBestValidationEpoch,
        }, growth);
    }

    /// <summary>A run's data and device: the training rows (cached or streamed), the validation rows, where to train.</summary>
    public sealed record Data(ITrainingSet Train, ITrainingSet? Validation, bool Cached, TorchSharp.torch.Device Device, string DeviceName);

    /// <summary>
    /// Sets the threads, resolves the device, checks the numerics and reads the data (skipped rows are warned about); with
    /// no validation data and a <see cref="Settings.ValidationSetFraction"/>, splits the validation rows off the training rows by <paramref name="seed"/>.
    /// </summary>
    public static Data Prepare(IHost host, IChannel channel, NetworkDescription network, IDataView train, IDataView? validation,
        FeatureColumn features, LabelColumn labels, Settings settings, int seed)
    {
        // Intra-op threads are process-wide in libtorch: change them only when asked. libtorch's own
        // default is the machine's cores, which is the documented default here too.
        if (settings.Threads is { } threads)
        {
            if (threads <= 0)
                throw new ArgumentOutOfRangeException(nameof(settings), $"Threads must be positive (got {threads}).");
            TorchSharp.torch.set_num_threads(threads);
        }
        var environment = host as IHostEnvironmentInternal;
        var device = DeviceSelector.Resolve(settings.Device, environment?.GpuDeviceId, environment?.FallbackToCpu ?? false);
        // After the thread count is set (it is part of the numerics key), before any data is read.
        NumericsLog.Ensure(channel, network, device);

        long limit = settings.CacheLimitMegabytes * 1024 * 1024;
        // Decoding a large data set can take longer than all the training; the token must stop it too.
        void CheckAlive()
        {
            settings.CancellationToken.ThrowIfCancellationRequested();
            host.CheckAlive();
        }
        var (trainSet, skipped, cached) = DataViewTrainingSet.Create(train, features, labels, settings.CacheFeatures, limit, "training data", CheckAlive);
        if (skipped > 0)
            channel.Warning($"Skipped {skipped} training row(s) with a missing label or a NaN/infinite feature value.");
        ITrainingSet? validationSet = null;
        if (validation is not null)
        {
            var validationFeatures = FeatureColumn.Bind(validation.Schema, features.Column.Name, features.Shape);
            var validationLabels = LabelColumn.Bind(validation, labels.Column.Name, "validation set");
            if (validationLabels.ClassNames.Count != labels.ClassNames.Count)
                throw new ArgumentException($"The validation set's label has {validationLabels.ClassNames.Count} classes but the training data's has {labels.ClassNames.Count}; map both with the same MapValueToKey transformer.");
            (validationSet, long validationSkipped, _) = DataViewTrainingSet.Create(validation, validationFeatures, validationLabels, true, limit, "validation data", CheckAlive);
            if (validationSkipped > 0)
                channel.Warning($"Skipped {validationSkipped} validation row(s) with a missing label or a NaN/infinite feature value.");
        }
        else if (settings.ValidationSetFraction is { } fraction)
        {
            if (trainSet is not InMemoryTrainingSet all)
                throw new ArgumentException($"ValidationSetFraction {fraction} splits the decoded training rows, but they are streamed: keep CacheFeatures on with the data within FeatureCacheLimitMegabytes ({settings.CacheLimitMegabytes} MB), or pass a ValidationSet.");
            (trainSet, validationSet) = all.Split(fraction, seed);
            channel.Info($"Validation: {validationSet.Count} of the {all.Count} training rows (ValidationSetFraction {fraction}, seed {seed}); training on the other {trainSet.Count}.");
        }
        return new Data(trainSet, validationSet, cached, DeviceSelector.ToDevice(device), device);
    }
}
