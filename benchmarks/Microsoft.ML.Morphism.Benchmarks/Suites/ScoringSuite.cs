// Scoring: Transform throughput over the Fashion-MNIST test set and PredictionEngine single-image latency.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
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

                var latencies = PredictionLatencies(ml, model, testData, predictions);
                latencyTable.Add(name, threads.ToString(CultureInfo.InvariantCulture), Format.Fixed(Statistics.Percentile(latencies, 50), 0),
                    Format.Fixed(Statistics.Percentile(latencies, 99), 0), Format.Fixed(latencies.Average(), 0), Format.Fixed(latencies.Max(), 0));
                report.AddRow(new LatencyRow(name, threads, latencies.Count, Statistics.Percentile(latencies, 50), Statistics.Percentile(latencies, 99), latencies.Average(), latencies.Max()));
                SuiteReport.Progress($"scoring: {name}, {threads} thread(s): PredictionEngine p50 {Statistics.Percentile(latencies, 50):F0} µs, p99 {Statistics.Percentile(latencies, 99):F0} µs");
            }
            set_num_threads(options.Threads);
        }
        report.Add(transformTable);
        report.Add(latencyTable);
        report.Note($"Models: trained 1 epoch on {trainImages} training images (batch 64), so accuracy only shows that scoring is real. Test vectors: the first {testImages} Fashion-MNIST test images as 784-float rows; PNG: examples/data/fashion-mnist/test (1,000 files) through LoadImages → ResizeImages → ConvertToGrayscale → ExtractPixels.");
        report.Note("The transformer scores row by row (ML.NET's row-mapper contract): one forward pass of batch 1 per image, in a no-grad dispose scope. " +
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

internal sealed record LatencyRow(string Network, int Threads, int Calls, double P50Microseconds, double P99Microseconds, double MeanMicroseconds, double MaxMicroseconds);
