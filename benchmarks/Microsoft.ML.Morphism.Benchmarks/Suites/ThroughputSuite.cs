// Training images/s through the ML.NET trainer against a bare TorchSharp loop and PyTorch, measured interleaved in one run.
using System.Globalization;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Samples;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// For each network (default, child) and batch (64, 256), one ML.NET Fit of E epochs runs with two
/// references beside it: after each of the trainer's epochs (its clock stopped, in its MetricsCallback)
/// one epoch of the bare TorchSharp loop and one epoch of PyTorch (a process waiting for the word), in
/// alternating order. So epoch k of all three runs within seconds of each other, under the same
/// machine load; on these shared VMs a run a minute later can be 25 % faster or slower. Epoch 1 of each
/// warms up and is left out; a ratio is the median over rounds and epochs of the per-epoch ratios.
/// </summary>
internal sealed class ThroughputSuite : ISuite
{
    private static readonly int[] BatchSizes = [64, 256];

    public string Name => "throughput";

    public string Summary => "training images/s: ML.NET trainer vs a bare TorchSharp loop vs PyTorch (Debian 1.13.1), interleaved epoch by epoch";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int images = options.Pick(options.Images, quick: 1280, full: 6400);
        int epochs = Math.Max(2, options.Pick(options.Epochs, quick: 2, full: 4));
        int rounds = options.Pick(options.Rounds, quick: 1, full: 3);
        var data = FashionMnistData.Load(FashionMnistSplit.Train, images);
        var ml = new MLContext(seed: 1);
        var view = FashionMnistData.ToDataView(ml, data);
        var pytorch = options.SkipPyTorch ? null : PyTorchReference.Find(options);
        report.Note(CheckThreadsOption(ml, view, options.Threads, report.Machine));

        var table = new MarkdownTable($"Training throughput, images/s ({data.Count} Fashion-MNIST images, epochs 2–{epochs} of {rounds} round(s), interleaved epoch by epoch; medians)",
            "network", "parameters", "batch", "ours (ML.NET, cache)", "bare TorchSharp", pytorch is null ? "PyTorch (not run)" : $"PyTorch {pytorch.Version}",
            "ours / bare", "ours / PyTorch", "bare / PyTorch", "load (1 min)");
        foreach (var (name, network) in BenchmarkNetworks.Selected(options.Network))
        {
            foreach (var batch in BatchSizes)
            {
                var epochsMeasured = new List<ThroughputEpoch>();
                var loads = new List<double?>();
                for (int round = 1; round <= rounds; round++)
                {
                    loads.Add(MachineInfo.LoadAverage());
                    epochsMeasured.AddRange(MeasureRound(ml, view, data, network, name, batch, epochs, round, options.Threads, pytorch));
                    var last = epochsMeasured[^1];
                    SuiteReport.Progress($"throughput: {name} batch {batch} round {round}: ours {last.Ours:F0}, bare {last.Bare:F0}, PyTorch {Format.OrDash(last.PyTorch, r => r.ToString("F0", CultureInfo.InvariantCulture))} images/s in epoch {last.Epoch} (load {loads[^1]:F2})");
                }
                var steady = epochsMeasured.Where(e => e.Epoch > 1).ToList();
                steady.ForEach(report.AddRow);
                table.Add(name, Format.Integer(network.TrainableParameterCount), batch.ToString(CultureInfo.InvariantCulture),
                    Format.Fixed(Statistics.Median(steady.Select(m => m.Ours)), 0),
                    Format.Fixed(Statistics.Median(steady.Select(m => m.Bare)), 0),
                    pytorch is null ? "—" : Format.Fixed(Statistics.Median(steady.Select(m => m.PyTorch!.Value)), 0),
                    Format.Ratio(Statistics.Median(steady.Select(m => m.Ours / m.Bare))),
                    pytorch is null ? "—" : Format.Ratio(Statistics.Median(steady.Select(m => m.Ours / m.PyTorch!.Value))),
                    pytorch is null ? "—" : Format.Ratio(Statistics.Median(steady.Select(m => m.Bare / m.PyTorch!.Value))),
                    string.Join(", ", loads.Select(l => Format.OrDash(l, v => Format.Fixed(v, 2)))));
            }
        }
        report.Add(table);
        report.Note($"Networks: default = {BenchmarkNetworks.Default.LayersToString()}; child = the default grown by `{BenchmarkNetworks.ChildPlan}` = {BenchmarkNetworks.Child.LayersToString()}.");
        report.Note("Ours: `ml.MulticlassClassification.Trainers.MorphableImageClassifier` fitted on an IDataView (LoadFromEnumerable + MapValueToKey) with CacheFeatures = true, trainer defaults otherwise; images/s from the trainer's own epoch times (MetricsCallback), which leave out the one-off cache fill. " +
                    "Bare: the engine's NetworkModule with the trainer's optimizer, schedule and initial weights (SGD, Nesterov momentum 0.9, weight decay 5e-4 on weights of rank ≥ 2, cosine learning rate with warm-up, P-activation clamp) over pre-built batch tensors. " +
                    $"PyTorch: benchmarks/pytorch/train_throughput.py, the same loop in PyTorch; all three with {options.Threads} intra-op thread(s).");
        report.Note(pytorch is null
            ? $"PyTorch was not run: {(options.SkipPyTorch ? "--no-pytorch" : $"no python with torch found (tried {(options.Python ?? "python3, /usr/bin/python3")})")}. Install Debian's with `{PyTorchReference.InstallCommand}`, or pass --python PATH."
            : $"PyTorch: {pytorch.Python}, torch {pytorch.Version} (Debian's python3-torch 1.13.1, CPU, OpenBLAS, no MKL), against our libtorch {report.Machine.LibTorch}: the ratio compares two libtorch versions and builds, not only the code around them.");
    }

    /// <summary>One Fit with a bare epoch and a PyTorch epoch run after each of its epochs.</summary>
    private static List<ThroughputEpoch> MeasureRound(MLContext ml, IDataView view, LabeledFeatures data, NetworkDescription network, string name,
        int batch, int epochs, int round, int threads, PyTorchReference? pytorch)
    {
        using var bare = new BareTrainingLoop(network, data, batch, epochs, seed: 1);
        using var torch = pytorch?.Start(network, batch, data.Count, epochs, threads);
        var measured = new List<ThroughputEpoch>();
        ClassifierTraining.Fit(ml, view, network, batch, epochs, threads, onEpoch: metrics =>
        {
            double bareRate;
            double? torchRate;
            if (metrics.Epoch % 2 == 1)
            {
                bareRate = bare.RunEpoch();
                torchRate = torch?.RunEpoch();
            }
            else
            {
                torchRate = torch?.RunEpoch();
                bareRate = bare.RunEpoch();
            }
            measured.Add(new ThroughputEpoch(name, batch, round, metrics.Epoch, metrics.Examples / metrics.Seconds, bareRate, torchRate));
        });
        return measured;
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

/// <summary>One epoch of one round of one configuration: images/s of each system (PyTorch null when not run).</summary>
internal sealed record ThroughputEpoch(string Network, int Batch, int Round, int Epoch, double Ours, double Bare, double? PyTorch);
