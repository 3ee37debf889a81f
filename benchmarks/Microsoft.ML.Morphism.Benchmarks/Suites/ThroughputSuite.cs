// Training images/s through the ML.NET trainer against a bare TorchSharp loop and PyTorch, measured interleaved in one run.
using System.Globalization;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Samples;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// For each network (default, child) and batch (64, 256), each round trains the same N Fashion-MNIST
/// images with (1) ours: the ML.NET trainer on an IDataView with the feature cache, (2) the bare
/// TorchSharp loop, (3) PyTorch, one after the other, so that all three see about the same machine
/// load. A system's figure for a round is the median images/s of its epochs after the first; a ratio
/// is the median over rounds of the per-round ratios.
/// </summary>
internal sealed class ThroughputSuite : ISuite
{
    private static readonly int[] BatchSizes = [64, 256];

    public string Name => "throughput";

    public string Summary => "training images/s: ML.NET trainer vs a bare TorchSharp loop vs PyTorch (Debian 1.13.1), interleaved";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int images = options.Pick(options.Images, quick: 1280, full: 6400);
        int epochs = options.Pick(options.Epochs, quick: 2, full: 3);
        int rounds = options.Pick(options.Rounds, quick: 1, full: 3);
        var data = FashionMnistData.Load(FashionMnistSplit.Train, images);
        var ml = new MLContext(seed: 1);
        var view = FashionMnistData.ToDataView(ml, data);
        var pytorch = options.SkipPyTorch ? null : PyTorchReference.Find(options);

        report.Note(CheckThreadsOption(ml, view, options.Threads, report.Machine));

        var table = new MarkdownTable($"Training throughput, images/s ({data.Count} Fashion-MNIST images, {epochs} epochs, median of epochs 2–{epochs} and of {rounds} round(s))",
            "network", "parameters", "batch", "ours (ML.NET, cache)", "bare TorchSharp", pytorch is null ? "PyTorch (not run)" : $"PyTorch {pytorch.Version}",
            "ours / bare", "ours / PyTorch", "bare / PyTorch", "load (1 min)");
        foreach (var (name, network) in BenchmarkNetworks.Both)
        {
            foreach (var batch in BatchSizes)
            {
                var measured = new List<ThroughputRound>();
                for (int round = 1; round <= rounds; round++)
                {
                    double? load = MachineInfo.LoadAverage();
                    var ours = ClassifierTraining.Fit(ml, view, network, batch, epochs, options.Threads);
                    double oursRate = Statistics.Median(ours.SteadyImagesPerSecond);
                    double bareRate = Statistics.Median(BareTrainingLoop.Run(network, data, batch, epochs, seed: 1).Skip(1));
                    double? torchRate = pytorch is null ? null : Statistics.Median(pytorch.Run(network, batch, data.Count, epochs, options.Threads).Skip(1));
                    measured.Add(new ThroughputRound(name, batch, round, oursRate, data.Count * epochs / ours.FitSeconds, bareRate, torchRate, load));
                    report.AddRow(measured[^1]);
                    SuiteReport.Progress($"throughput: {name} batch {batch} round {round}: ours {oursRate:F0}, bare {bareRate:F0}, PyTorch {Format.OrDash(torchRate, r => r.ToString("F0", CultureInfo.InvariantCulture))} images/s (load {load:F2})");
                }
                table.Add(name, Format.Integer(network.TrainableParameterCount), batch.ToString(CultureInfo.InvariantCulture),
                    Format.Fixed(Statistics.Median(measured.Select(m => m.Ours)), 0),
                    Format.Fixed(Statistics.Median(measured.Select(m => m.Bare)), 0),
                    pytorch is null ? "—" : Format.Fixed(Statistics.Median(measured.Select(m => m.PyTorch!.Value)), 0),
                    Format.Ratio(Statistics.Median(measured.Select(m => m.Ours / m.Bare))),
                    pytorch is null ? "—" : Format.Ratio(Statistics.Median(measured.Select(m => m.Ours / m.PyTorch!.Value))),
                    pytorch is null ? "—" : Format.Ratio(Statistics.Median(measured.Select(m => m.Bare / m.PyTorch!.Value))),
                    string.Join(", ", measured.Select(m => Format.OrDash(m.Load, l => Format.Fixed(l, 2)))));
            }
        }
        report.Add(table);
        report.Note($"Networks: default = {BenchmarkNetworks.Default.LayersToString()}; child = the default grown by `{BenchmarkNetworks.ChildPlan}` = {BenchmarkNetworks.Child.LayersToString()}.");
        report.Note("Ours: `ml.MulticlassClassification.Trainers.MorphableImageClassifier` fitted on an IDataView (LoadFromEnumerable + MapValueToKey) with CacheFeatures = true, trainer defaults otherwise; images/s from the trainer's own epoch times (MetricsCallback), which leave out the one-off cache fill. " +
                    "Bare: the engine's NetworkModule with the trainer's optimizer (SGD, Nesterov momentum 0.9, weight decay 5e-4 on weights of rank ≥ 2, P-activation clamp) over pre-built batch tensors. " +
                    $"PyTorch: benchmarks/pytorch/train_throughput.py, the same loop in PyTorch; all three with {options.Threads} intra-op thread(s).");
        report.Note(pytorch is null
            ? $"PyTorch was not run: {(options.SkipPyTorch ? "--no-pytorch" : $"no python with torch found (tried {(options.Python ?? "python3, /usr/bin/python3")})")}. Install Debian's with `{PyTorchReference.InstallCommand}`, or pass --python PATH."
            : $"PyTorch: {pytorch.Python}, torch {pytorch.Version} (Debian's python3-torch 1.13.1, CPU, OpenBLAS, no MKL), against our libtorch {report.Machine.LibTorch}: the ratio compares two libtorch versions and builds, not only the code around them.");
    }

    /// <summary>
    /// Options.Threads sets libtorch's (process-wide) intra-op threads, and a Fit without it leaves
    /// them alone: checked with a one-epoch fit on a few images, starting from a different count.
    /// </summary>
    private static string CheckThreadsOption(MLContext ml, IDataView view, int threads, MachineInfo machine)
    {
        var few = ml.Data.TakeRows(view, 256);
        int other = threads == 1 ? 2 : 1;
        set_num_threads(other);
        ClassifierTraining.Fit(ml, few, BenchmarkNetworks.Default, 64, 1, threads);
        int afterOption = get_num_threads();
        ClassifierTraining.Fit(ml, few, BenchmarkNetworks.Default, 64, 1, threads: null);
        int afterDefault = get_num_threads();
        set_num_threads(threads);
        if (afterOption != threads || afterDefault != threads)
            throw new InvalidOperationException($"Options.Threads = {threads} left libtorch at {afterOption} threads; a Fit without it changed {threads} to {afterDefault}.");
        return $"Threads: libtorch's default intra-op thread count in a fresh process here is {machine.LibTorchDefaultThreads} ({machine.Cores} cores); " +
               $"a Fit with Options.Threads = {threads} (from {other}) left libtorch at {afterOption}, and a Fit without it left the count unchanged.";
    }
}

/// <summary>One round of one configuration: images/s of each system (PyTorch null when not run).</summary>
internal sealed record ThroughputRound(string Network, int Batch, int Round, double Ours, double OursWholeFit, double Bare, double? PyTorch, double? Load);
