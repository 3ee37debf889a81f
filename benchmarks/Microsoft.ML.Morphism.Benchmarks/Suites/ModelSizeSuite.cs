// Model size on disk against the raw parameters, and the time ml.Model.Save and ml.Model.Load take.
using System.Diagnostics;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// For each network, a briefly trained classifier is saved with <c>ml.Model.Save</c> (the .zip holds the
/// network description, float32 weights, class names, the training recipe and the epoch history) and
/// loaded back with <c>ml.Model.Load</c>; the loaded model scores one image to show it is whole.
/// </summary>
internal sealed class ModelSizeSuite : ISuite
{
    public string Name => "model-size";

    public string Summary => ".zip bytes against raw float32 parameter bytes; save and load times";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int repeats = options.Pick(options.Rounds, quick: 3, full: 10);
        var ml = new MLContext(seed: 1);
        var train = FashionMnistData.ToDataView(ml, FashionMnistData.Load(FashionMnistSplit.Train, options.Quick ? 640 : 2000));
        var folder = Directory.CreateTempSubdirectory("morphism-bench-model-size");
        var table = new MarkdownTable($"Saved classifier (.zip) against its raw parameters (median of {repeats} saves and loads)",
            "network", "values (incl. BN buffers)", "raw float32 bytes", ".zip bytes", ".zip / raw", "save ms", "load ms", "load + first score ms");
        try
        {
            foreach (var (name, network) in BenchmarkNetworks.Both)
            {
                var model = ClassifierTraining.Fit(ml, train, network, 64, epochs: 1, options.Threads).Model;
                var path = Path.Combine(folder.FullName, $"{name}.zip");
                var save = new List<double>();
                var load = new List<double>();
                var loadAndScore = new List<double>();
                for (int r = 0; r < repeats; r++)
                {
                    var clock = Stopwatch.StartNew();
                    ml.Model.Save(model, train.Schema, path);
                    save.Add(clock.Elapsed.TotalMilliseconds);

                    clock.Restart();
                    var loaded = ml.Model.Load(path, out _);
                    load.Add(clock.Elapsed.TotalMilliseconds);
                    ScoreFirstRow(loaded.Transform(train));
                    loadAndScore.Add(clock.Elapsed.TotalMilliseconds);
                }
                long zipBytes = new FileInfo(path).Length;
                long rawBytes = network.ParameterCount * sizeof(float);
                table.Add(name, Format.Integer(network.ParameterCount), Format.Integer(rawBytes), Format.Integer(zipBytes), Format.Fixed((double)zipBytes / rawBytes, 3),
                    Format.Ms(Statistics.Median(save)), Format.Ms(Statistics.Median(load)), Format.Ms(Statistics.Median(loadAndScore)));
                report.AddRow(new ModelSizeRow(name, network.ParameterCount, rawBytes, zipBytes, Statistics.Median(save), Statistics.Median(load), Statistics.Median(loadAndScore), repeats));
                SuiteReport.Progress($"model-size: {name}: {zipBytes} bytes for {rawBytes} raw bytes");
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
        report.Add(table);
        report.Note("Raw bytes: every stored value (weights, biases, BatchNorm statistics, P-activation a) as float32. The .zip adds ML.NET's model header and our parts (network JSON, labels, recipe, epoch history, checksums) and deflates them; trained float weights barely compress.");
        report.Note("Load: ml.Model.Load from the file in this process (ML.NET reads the header, finds the loader, we read and check the parts); the first score then builds the TorchSharp module.");
    }

    private static void ScoreFirstRow(IDataView scored)
    {
        using var cursor = scored.GetRowCursor([scored.Schema["Score"]]);
        var getter = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(scored.Schema["Score"]);
        Microsoft.ML.Data.VBuffer<float> scores = default;
        if (!cursor.MoveNext())
            throw new InvalidOperationException("No row to score.");
        getter(ref scores);
    }
}

internal sealed record ModelSizeRow(string Network, long Values, long RawBytes, long ZipBytes, double SaveMs, double LoadMs, double LoadAndFirstScoreMs, int Repeats);
