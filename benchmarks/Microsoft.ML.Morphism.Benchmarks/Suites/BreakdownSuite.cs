// Where one training epoch's time goes: IDataView cursor → batch buffer → tensor, forward/backward, optimizer — with and without the feature cache, from vectors and from PNG files.
using System.Globalization;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// Runs the trainer's own loop (<see cref="NetworkTrainer"/>) on the training set the ML.NET trainer
/// builds from an IDataView (<c>DataViewTrainingSet.Create</c>, the call <c>TrainingRun</c> makes), with
/// the loop's phase timer on: data (the set's enumerator: cursor, decoding, copies into the reused
/// batch buffer), upload (buffer → input tensor), forward + backward, optimizer step, bookkeeping.
/// Managed bytes allocated per epoch show whether anything is allocated per row. A last table fits the
/// real ML.NET trainer on the same data (no phase timer) to show the instrumented loop is the same loop.
/// </summary>
internal sealed class BreakdownSuite : ISuite
{
    private const int DefaultBatch = 64;
    private const long CacheLimitBytes = MorphableImageClassifierTrainer.Defaults.FeatureCacheLimitMegabytes * 1024 * 1024;

    public string Name => "breakdown";

    public string Summary => "where an epoch's time goes (data path, forward/backward, step), cache on/off, vectors and PNG files";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int images = options.Pick(options.Images, quick: 1280, full: 10000);
        int epochs = options.Pick(options.Epochs, quick: 2, full: 3);
        var ml = new MLContext(seed: 1);
        var vectorData = FashionMnistData.Load(FashionMnistSplit.Train, images);
        var vectors = FashionMnistData.ToDataView(ml, vectorData);
        var png = FashionMnistData.PngPipeline(ml, FashionMnistSubset.TrainFolder);
        (string Name, IDataView View)[] sources =
        [
            ("Fashion-MNIST vectors (LoadFromEnumerable)", vectors),
            ("PNG files (LoadImages → ExtractPixels)", png),
        ];

        var setupTable = new MarkdownTable("Building the training set from the IDataView (once per Fit, before epoch 1)",
            "source", "rows", "cache", "what it does", "seconds", "ms per 1,000 rows");
        var epochTable = new MarkdownTable($"One epoch, phase by phase (default network, {options.Threads} thread(s))",
            "source", "cache", "batch", "epoch", "epoch ms", "data ms", "upload ms", "forward+backward ms", "step ms", "other ms", "data path %",
            "managed KB / batch", "managed bytes / image");
        // The last configuration repeats the first at batch 256: allocations that are per batch shrink per image, per-row ones would not.
        (int Source, bool Cache, int Batch)[] configurations = [(0, true, DefaultBatch), (0, false, DefaultBatch), (1, true, DefaultBatch), (1, false, DefaultBatch), (0, true, 256)];
        foreach (var (source, cache, batch) in configurations)
        {
            var (sourceName, view) = sources[source];
            var measured = Measure(sourceName, view, cache, batch, epochs);
            if (batch == DefaultBatch)
            {
                setupTable.Add(sourceName, Format.Integer(measured.Rows), cache ? "on" : "off",
                    cache ? "decode every row once into one float array" : "count the usable rows (one full decoding pass)",
                    Format.Fixed(measured.SetupSeconds, 2), Format.Fixed(1e6 * measured.SetupSeconds / measured.Rows, 1));
            }
            foreach (var e in measured.Epochs)
            {
                epochTable.Add(sourceName, cache ? "on" : "off", batch.ToString(CultureInfo.InvariantCulture), e.Epoch.ToString(CultureInfo.InvariantCulture),
                    Format.Ms(e.EpochMs), Format.Ms(e.DataMs), Format.Ms(e.UploadMs), Format.Ms(e.ForwardBackwardMs), Format.Ms(e.StepMs), Format.Ms(e.OtherMs),
                    Format.Percent(e.DataPathFraction), Format.Fixed(e.ManagedBytesPerImage * e.Images / e.Batches / 1024, 1), Format.Fixed(e.ManagedBytesPerImage, 1));
                report.AddRow(e);
            }
            SuiteReport.Progress($"breakdown: {sourceName}, cache {(cache ? "on" : "off")}, batch {batch}: setup {measured.SetupSeconds:F2} s, last epoch data path {Format.Percent(measured.Epochs[^1].DataPathFraction)}");
        }
        foreach (var batch in new[] { DefaultBatch, 256 })
        {
            // The reference: the same network and optimizer over pre-built tensors (no data path, no accuracy bookkeeping).
            var phases = new TrainingPhaseTimes();
            using var bare = new BareTrainingLoop(BenchmarkNetworks.Default, vectorData, batch, epochs, seed: 1);
            for (int epoch = 1; epoch <= epochs; epoch++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                bare.RunEpoch(phases);
                double ms = clock.Elapsed.TotalMilliseconds;
                double Ms(TrainingPhase phase) => phases[phase].TotalMilliseconds;
                epochTable.Add("bare TorchSharp loop (pre-built tensors)", "—", batch.ToString(CultureInfo.InvariantCulture), epoch.ToString(CultureInfo.InvariantCulture),
                    Format.Ms(ms), "—", "—", Format.Ms(Ms(TrainingPhase.ForwardBackward)), Format.Ms(Ms(TrainingPhase.Step)), Format.Ms(Ms(TrainingPhase.Bookkeeping)), "—", "—", "—");
                report.AddRow(new BareEpoch(batch, epoch, ms, Ms(TrainingPhase.ForwardBackward), Ms(TrainingPhase.Step), Ms(TrainingPhase.Bookkeeping)));
                phases.Reset();
            }
        }
        report.Add(setupTable);
        report.Add(epochTable);

        var crossCheck = new MarkdownTable($"Cross-check: the ML.NET trainer's own epoch times on the same vectors (batch {DefaultBatch}, no phase timer)",
            "cache", "epoch", "epoch ms", "images/s");
        foreach (var cache in new[] { true, false })
        {
            var fit = ClassifierTraining.Fit(ml, vectors, BenchmarkNetworks.Default, DefaultBatch, epochs, options.Threads, cache);
            foreach (var e in fit.Epochs)
                crossCheck.Add(cache ? "on" : "off", e.Epoch.ToString(CultureInfo.InvariantCulture), Format.Ms(1000 * e.Seconds), Format.Fixed(e.Examples / e.Seconds, 0));
        }
        report.Add(crossCheck);

        report.Note("Data: the training set's enumerator producing the next batch in its reused buffer — with the cache, row copies out of one float array; without it, the IDataView cursor (and, for PNG files, decoding). " +
                    "Upload: the batch buffer copied into the reused input tensor. Other: cancellation checks, learning rate, loss and accuracy reads. Data path % = (data + upload) / epoch. " +
                    "The bare rows time the throughput suite's reference loop the same way (other = reading the loss).");
        report.Note("Managed bytes / image: bytes the .NET GC allocated during the epoch divided by the images trained (GC.GetTotalAllocatedBytes; all threads). " +
                    "Allocations per batch (TorchSharp's tensor handles, the optimizer's per-parameter temporaries) stay about the same per batch at batch 256 and so shrink per image; a per-row allocation would not shrink.");
        report.Note($"Sources: the first {images} Fashion-MNIST training images as 784-float rows; and the committed PNG subset (examples/data/fashion-mnist/train, 2,000 images) through LoadImages → ResizeImages → ConvertToGrayscale → ExtractPixels.");
    }

    private static BreakdownMeasurement Measure(string source, IDataView view, bool cache, int batchSize, int epochs)
    {
        var network = BenchmarkNetworks.Default;
        var features = FeatureColumn.Bind(view.Schema, "Features", network.Input);
        var labels = LabelColumn.Bind(view, "Label");
        var setupClock = System.Diagnostics.Stopwatch.StartNew();
        var (set, _, cached) = DataViewTrainingSet.Create(view, features, labels, cache, CacheLimitBytes, "training data");
        double setupSeconds = setupClock.Elapsed.TotalSeconds;
        if (cached != cache)
            throw new InvalidOperationException($"Asked for cache {cache} but the training set is {(cached ? "cached" : "streamed")}.");

        var phases = new TrainingPhaseTimes();
        var rows = new List<BreakdownEpoch>();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        var hooks = new TrainingHooks
        {
            PhaseTimes = phases,
            EpochCompleted = metrics =>
            {
                long now = GC.GetTotalAllocatedBytes(precise: true);
                double Ms(TrainingPhase phase) => phases[phase].TotalMilliseconds;
                rows.Add(new BreakdownEpoch(source, cache, batchSize, metrics.Epoch, 1000 * metrics.Seconds, Ms(TrainingPhase.Data), Ms(TrainingPhase.Upload),
                    Ms(TrainingPhase.ForwardBackward), Ms(TrainingPhase.Step), Ms(TrainingPhase.Bookkeeping), phases.Batches, metrics.Examples,
                    (double)(now - allocated) / metrics.Examples));
                phases.Reset();
                allocated = GC.GetTotalAllocatedBytes(precise: true);
            },
        };
        var recipe = new TrainingRecipe { BatchSize = batchSize, MaxEpoch = epochs, Seed = 1 };
        new NetworkTrainer(recipe).Train(network, NetworkWeights.Initialize(network, seed: 1), set, hooks: hooks);
        return new BreakdownMeasurement(set.Count, setupSeconds, rows);
    }

    private sealed record BreakdownMeasurement(int Rows, double SetupSeconds, IReadOnlyList<BreakdownEpoch> Epochs);
}

/// <summary>One epoch of the bare loop, for reference (times in milliseconds; "other" is reading the loss).</summary>
internal sealed record BareEpoch(int Batch, int Epoch, double EpochMs, double ForwardBackwardMs, double StepMs, double OtherMs);

/// <summary>One instrumented epoch. Times in milliseconds; "other" is the trainer's per-batch bookkeeping.</summary>
internal sealed record BreakdownEpoch(string Source, bool Cache, int Batch, int Epoch, double EpochMs, double DataMs, double UploadMs, double ForwardBackwardMs,
    double StepMs, double OtherMs, int Batches, long Images, double ManagedBytesPerImage)
{
    public double DataPathFraction => (DataMs + UploadMs) / EpochMs;
}
