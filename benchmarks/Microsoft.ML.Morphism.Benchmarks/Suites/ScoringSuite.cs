// Scoring: Transform throughput over the Fashion-MNIST test set and PredictionEngine single-image latency.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Platform;
using Microsoft.ML.Morphism.Scoring;
using Microsoft.ML.Morphism.Samples;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// A classifier trained briefly on Fashion-MNIST (accuracy printed as a sanity check, not as a result)
/// scores (1) the test set through <c>Transform</c> and a cursor over Score and PredictedLabel, (2) the
/// committed PNG test images through the image pipeline (decoding included), and (3) one image at a
/// time through a <c>PredictionEngine</c>, each call timed.
/// </summary>
internal sealed class ScoringSuite : ISuite
{
    public string Name => "scoring";

    public string Summary => "Transform images/s on the 10,000 test images (and PNG files), PredictionEngine latency p50/p99";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int trainImages = options.Pick(options.Images, quick: 1280, full: 10000);
        int testImages = options.Quick ? 2000 : 10000;
        int rounds = options.Pick(options.Rounds, quick: 1, full: 3);
        int predictions = options.Quick ? 1000 : 10000;
        var ml = new MLContext(seed: 1);
        var train = FashionMnistData.ToDataView(ml, FashionMnistData.Load(FashionMnistSplit.Train, trainImages));
        var testData = FashionMnistData.Load(FashionMnistSplit.Test, testImages);
        var test = FashionMnistData.ToDataView(ml, testData);
        var pngTest = FashionMnistData.PngPipeline(ml, FashionMnistSubset.TestFolder);

        // Scoring runs one image at a time, where intra-op threads have little to split and, on a busy
        // machine, waiting for each other costs more than they save: measure the default and one thread.
        int[] threadCounts = options.Threads == 1 ? [1] : [options.Threads, 1];
        var transformTable = new MarkdownTable($"Transform throughput (a cursor over Score and PredictedLabel, median of {rounds})",
            "network", "data", "threads", "images", "images/s", "µs / image", "accuracy (sanity)");
        int pairedRounds = Math.Max(rounds, options.Quick ? 2 : 7);
        var batchTable = new MarkdownTable($"Transform against a bare batched TorchSharp forward of the same network (test vectors, batch {BatchedScoringView.BatchSize}; median of {pairedRounds} rounds, each running the three in turn)",
            "network", "threads", "bare forward images/s", "Transform images/s", "Transform / bare, median of the rounds' ratios (range) — target ≥ 80 %", "row by row images/s", "largest |batched − row by row| score");
        int[] batchSizes = [1, 16, 32, 64, 128, 256];
        var sweepTable = new MarkdownTable($"Bare batched forward by batch size (images/s, test vectors, median of {Math.Max(rounds, 2)} interleaved rounds): how Transform's batch size was chosen",
            ["network", "threads", .. batchSizes.Select(b => $"batch {b}")]);
        var latencyTable = new MarkdownTable($"PredictionEngine.Predict, one image per call ({predictions} calls after 100 warm-up calls)",
            "network", "threads", "p50 µs", "p99 µs", "mean µs", "max µs");
        foreach (var (name, network) in BenchmarkNetworks.Selected(options.Network))
        {
            var model = ClassifierTraining.Fit(ml, train, network, 64, epochs: 1, options.Threads).Model;
            foreach (var threads in threadCounts)
            {
                set_num_threads(threads);
                foreach (var (dataName, view) in new[] { ("Fashion-MNIST test vectors", test), ("PNG test files (decode + score)", pngTest) })
                {
                    var times = new List<double>();
                    double accuracy = 0;
                    long rows = 0;
                    for (int r = 0; r < rounds; r++)
                        times.Add(ScorePass(model.Transform(view), out accuracy, out rows));
                    double seconds = Statistics.Median(times);
                    transformTable.Add(name, dataName, threads.ToString(CultureInfo.InvariantCulture), Format.Integer(rows), Format.Fixed(rows / seconds, 0),
                        Format.Fixed(1e6 * seconds / rows, 1), Format.Percent(accuracy));
                    report.AddRow(new TransformRow(name, dataName, threads, rows, rows / seconds, accuracy, rounds));
                    SuiteReport.Progress($"scoring: {name}, {dataName}, {threads} thread(s): {rows / seconds:F0} images/s");
                }

                {
                    var sweep = batchSizes.ToDictionary(b => b, _ => new List<double>());
                    for (int r = 0; r < Math.Max(rounds, 2); r++)
                        foreach (var b in batchSizes)
                            sweep[b].Add(testData.Count / BareForward(model, testData, b));
                    sweepTable.Add([name, threads.ToString(CultureInfo.InvariantCulture), .. batchSizes.Select(b => Format.Fixed(Statistics.Median(sweep[b]), 0))]);
                    report.AddRow(new BatchSweepRow(name, threads, testData.Count, batchSizes, [.. batchSizes.Select(b => Statistics.Median(sweep[b]))]));

                    // Bare, batched and row by row alternate within each round; the ratio is taken per round, then the median.
                    var bare = new List<double>();
                    var batched = new List<double>();
                    var rowByRow = new List<double>();
                    var ratios = new List<double>();
                    for (int r = 0; r < pairedRounds; r++)
                    {
                        bare.Add(testData.Count / BareForward(model, testData));
                        batched.Add(testData.Count / ScorePass(model.Transform(test), out _, out _));
                        rowByRow.Add(testData.Count / ScorePass(((RowToRowTransformerBase)model).Transform(test), out _, out _));
                        ratios.Add(batched[^1] / bare[^1]);
                    }
                    double bareRate = Statistics.Median(bare), batchedRate = Statistics.Median(batched), rowRate = Statistics.Median(rowByRow);
                    double ratio = Statistics.Median(ratios);
                    double difference = LargestDifference(model.Transform(test), ((RowToRowTransformerBase)model).Transform(test));
                    batchTable.Add(name, threads.ToString(CultureInfo.InvariantCulture), Format.Fixed(bareRate, 0), Format.Fixed(batchedRate, 0),
                        $"{Format.Percent(ratio)} ({Format.Percent(ratios.Min())}–{Format.Percent(ratios.Max())})", Format.Fixed(rowRate, 0),
                        difference.ToString("0.0e+00", CultureInfo.InvariantCulture));
                    report.AddRow(new BatchedScoringRow(name, threads, testData.Count, bareRate, batchedRate, rowRate, [.. ratios], difference, pairedRounds));
                    SuiteReport.Progress($"scoring: {name}, {threads} thread(s): bare forward {bareRate:F0}, Transform {batchedRate:F0} ({ratio:P0}), row by row {rowRate:F0} images/s");
                }

                var latencies = PredictionLatencies(ml, model, testData, predictions);
                latencyTable.Add(name, threads.ToString(CultureInfo.InvariantCulture), Format.Fixed(Statistics.Percentile(latencies, 50), 0),
                    Format.Fixed(Statistics.Percentile(latencies, 99), 0), Format.Fixed(latencies.Average(), 0), Format.Fixed(latencies.Max(), 0));
                report.AddRow(new LatencyRow(name, threads, latencies.Count, Statistics.Percentile(latencies, 50), Statistics.Percentile(latencies, 99), latencies.Average(), latencies.Max()));
                SuiteReport.Progress($"scoring: {name}, {threads} thread(s): PredictionEngine p50 {Statistics.Percentile(latencies, 50):F0} µs, p99 {Statistics.Percentile(latencies, 99):F0} µs");
            }
            set_num_threads(options.Threads);
        }
        report.Add(transformTable);
        report.Add(batchTable);
        report.Add(sweepTable);
        report.Add(latencyTable);
        report.Note($"Models: trained 1 epoch on {trainImages} training images (batch 64), so accuracy only shows that scoring is real. Test vectors: the first {testImages} Fashion-MNIST test images as 784-float rows; PNG: examples/data/fashion-mnist/test (1,000 files) through LoadImages → ResizeImages → ConvertToGrayscale → ExtractPixels.");
        report.Note($"Transform scores batches of {BatchedScoringView.BatchSize} rows read ahead (a no-grad dispose scope per batch); \"row by row\" is ML.NET's RowToRowMapperTransform over the same mapper (one forward pass of batch 1 per image), which the PredictionEngine uses. " +
                    $"The bare forward is the ceiling: the same module and batch over the already-decoded float array (tensor, forward, softmax, copy out), no IDataView. Numerics: {ConvolutionNumerics.Mode} mode, path {ConvolutionNumerics.Path} (the setting scoring itself runs under). " +
                    "Threads: libtorch's process-wide intra-op thread count while scoring (the library itself never changes it when scoring; the suite sets it to compare).");
    }

    /// <summary>Reads every row's Score and PredictedLabel; returns the seconds taken.</summary>
    private static double ScorePass(IDataView scored, out double accuracy, out long rows)
    {
        var clock = Stopwatch.StartNew();
        long correct = 0;
        rows = 0;
        using (var cursor = scored.GetRowCursor([scored.Schema["Score"], scored.Schema["PredictedLabel"], scored.Schema["Label"]]))
        {
            var score = cursor.GetGetter<VBuffer<float>>(scored.Schema["Score"]);
            var predicted = cursor.GetGetter<uint>(scored.Schema["PredictedLabel"]);
            var label = cursor.GetGetter<uint>(scored.Schema["Label"]);
            VBuffer<float> scores = default;
            uint p = 0, l = 0;
            while (cursor.MoveNext())
            {
                score(ref scores);
                predicted(ref p);
                label(ref l);
                correct += p == l ? 1 : 0;
                rows++;
            }
        }
        double seconds = clock.Elapsed.TotalSeconds;
        accuracy = (double)correct / rows;
        return seconds;
    }

    /// <summary>The ceiling: batches of the decoded test vectors straight through the scoring module; returns the seconds taken.</summary>
    private static double BareForward(MorphableImageClassifierTransformer model, LabeledFeatures test, int batch = BatchedScoringView.BatchSize)
    {
        int size = FashionMnistData.Pixels, classes = model.Model.ClassNames.Length;
        var pixels = new float[batch * size];
        var scores = new float[batch * classes];
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < test.Count; start += batch)
        {
            int rows = Math.Min(batch, test.Count - start);
            test.Features.AsSpan(start * size, rows * size).CopyTo(pixels);
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = tensor(pixels.AsSpan(0, rows * size).ToArray(), model.Model.Network.Input.WithBatch(rows));
            nn.functional.softmax(model.Model.ScoringModule.forward(x), 1).data<float>().CopyTo(scores.AsSpan(0, rows * classes));
        }
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The largest absolute difference between two views' scores, row by row.</summary>
    private static double LargestDifference(IDataView a, IDataView b) =>
        a.GetColumn<float[]>("Score").Zip(b.GetColumn<float[]>("Score")).Max(p => p.First.Zip(p.Second).Max(s => (double)Math.Abs(s.First - s.Second)));

    private static List<double> PredictionLatencies(MLContext ml, MorphableImageClassifierTransformer model, LabeledFeatures test, int calls)
    {
        using var engine = ml.Model.CreatePredictionEngine<ScoringInput, ScoringOutput>(model);
        var inputs = Enumerable.Range(0, Math.Min(calls, test.Count))
            .Select(i => new ScoringInput { Features = test.Features.AsSpan(i * FashionMnistData.Pixels, FashionMnistData.Pixels).ToArray() }).ToArray();
        var output = new ScoringOutput();
        for (int i = 0; i < 100; i++)
            engine.Predict(inputs[i % inputs.Length], ref output);
        var latencies = new List<double>(calls);
        for (int i = 0; i < calls; i++)
        {
            long start = Stopwatch.GetTimestamp();
            engine.Predict(inputs[i % inputs.Length], ref output);
            latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        return latencies;
    }

    public sealed class ScoringInput
    {
        [VectorType(FashionMnistData.Pixels)]
        public float[] Features { get; set; } = [];
    }

    public sealed class ScoringOutput
    {
        public float[] Score { get; set; } = [];

        public uint PredictedLabel { get; set; }
    }
}

internal sealed record TransformRow(string Network, string Data, int Threads, long Images, double ImagesPerSecond, double Accuracy, int Rounds);

internal sealed record BatchedScoringRow(string Network, int Threads, int Images, double BareImagesPerSecond, double TransformImagesPerSecond,
    double RowByRowImagesPerSecond, double[] TransformToBareRatios, double LargestScoreDifference, int Rounds);

internal sealed record BatchSweepRow(string Network, int Threads, int Images, int[] BatchSizes, double[] ImagesPerSecond);

internal sealed record LatencyRow(string Network, int Threads, int Calls, double P50Microseconds, double P99Microseconds, double MeanMicroseconds, double MaxMicroseconds);
