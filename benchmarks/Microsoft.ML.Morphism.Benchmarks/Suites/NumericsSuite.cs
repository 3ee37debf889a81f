// What the numerics self-check costs: its one-off time per key, and epoch and scoring time on each convolution path.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using Microsoft.ML.Morphism.Samples;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// 1. The verdict this process gets (and whether it came from the disk cache). 2. The self-check's
/// own time with the cache off, at 1 and 2 threads: the canaries plus one network's shapes. 3. For
/// the default network, the benchmark child and the main job's child (24/48 channels, the shapes
/// that fault), training epochs and scoring passes on each path — unprotected plain libtorch
/// (oneDNN on, no check: wrong numbers where the CPU is affected, timed only), padded, oneDNN off —
/// interleaved path by path within each round, so every path is timed under the same load.
/// </summary>
internal sealed class NumericsSuite : ISuite
{
    /// <summary>The main job's default plan (examples/GrowFashionMnist GrowSettings.DefaultPlan).</summary>
    private const string MainJobPlan = "widen(conv1, 24) widen(conv2, 48) kernel(conv1, 5) branch(conv1, 1) deepen(conv2)";

    private static readonly (string Name, Action Use)[] Paths =
    [
        ("unprotected (oneDNN on, unchecked)", () => ConvolutionNumerics.UseUnchecked(ConvolutionPath.Native)),
        ("padded", () => ConvolutionNumerics.Mode = OneDnnMode.Pad),
        ("oneDNN off", () => ConvolutionNumerics.Mode = OneDnnMode.Off),
    ];

    public string Name => "numerics";

    public string Summary => "the CPU's numerics verdict, the self-check's one-off cost, and epoch/scoring time per convolution path";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        VerdictSuite.Record(report);
        MeasureCheck(report, options);
        MeasurePaths(report, options);
        ConvolutionNumerics.Mode = OneDnnMode.Auto;
    }

    private static void MeasureCheck(SuiteReport report, BenchmarkOptions options)
    {
        int repeats = options.Pick(options.Rounds, quick: 1, full: 3);
        var table = new MarkdownTable($"Self-check time with the cache off ({repeats} fresh decision(s) per row; median)",
            "threads", "verdict", "canaries, s", "canaries + default network's shapes, s", "+ main-job child's shapes, s");
        int threads = get_num_threads();
        foreach (int t in new[] { 1, 2 })
        {
            set_num_threads(t);
            var rows = new List<(ConvolutionPath Path, double Canaries, double Default, double Child)>();
            for (int r = 0; r < repeats; r++)
            {
                ConvolutionNumerics.Reset(cacheDirectory: null);
                var clock = Stopwatch.StartNew();
                var v = ConvolutionNumerics.EnsureVerified(BenchmarkNetworks.Default);
                double withDefault = clock.Elapsed.TotalSeconds;
                ConvolutionNumerics.EnsureVerified(MainJobChild);
                rows.Add((v.Path, v.CheckTime.TotalSeconds, withDefault, clock.Elapsed.TotalSeconds));
            }
            rows.ForEach(row => report.AddRow(new { table = "check", threads = t, row.Path, row.Canaries, row.Default, row.Child }));
            table.Add(t.ToString(CultureInfo.InvariantCulture), string.Join("/", rows.Select(x => x.Path).Distinct()),
                Format.Fixed(Statistics.Median(rows.Select(x => x.Canaries)), 2), Format.Fixed(Statistics.Median(rows.Select(x => x.Default)), 2),
                Format.Fixed(Statistics.Median(rows.Select(x => x.Child)), 2));
        }
        set_num_threads(threads);
        ConvolutionNumerics.ResetToDefaults();
        report.Add(table);
        report.Note("The check runs once per key (CPU model and flags, libtorch version, thread count, oneDNN environment, mode); later processes read the verdict from the cache (~/.cache/Microsoft.ML.Morphism) and check only conv shapes not seen before.");
    }

    private static void MeasurePaths(SuiteReport report, BenchmarkOptions options)
    {
        int images = options.Pick(options.Images, quick: 640, full: 2560);
        int rounds = options.Pick(options.Rounds, quick: 2, full: 3);
        var data = FashionMnistData.Load(FashionMnistSplit.Train, images);
        var networks = new[] { ("default", BenchmarkNetworks.Default), ("child", BenchmarkNetworks.Child), ("main-job child", MainJobChild) };
        var table = new MarkdownTable($"Time per path ({data.Count} images, {options.Threads} thread(s), {rounds} round(s) of one epoch per path, paths interleaved; medians)",
            "network", "path", "train images/s", "vs unprotected", "score batch 64, images/s", "vs unprotected", "score batch 1, images/s", "vs unprotected");
        foreach (var (name, network) in networks)
        {
            var loops = new List<BareTrainingLoop>();
            var train = Paths.Select(_ => new List<double>()).ToArray();
            var batch64 = Paths.Select(_ => new List<double>()).ToArray();
            var batch1 = Paths.Select(_ => new List<double>()).ToArray();
            try
            {
                for (int round = 0; round < rounds; round++)
                {
                    for (int i = 0; i < Paths.Length; i++)
                    {
                        int p = (i + round) % Paths.Length; // rotate the order from round to round
                        Paths[p].Use();
                        ConvolutionNumerics.EnsureVerified(network);
                        if (loops.Count < Paths.Length)
                            loops.Add(new BareTrainingLoop(network, data, 64, rounds + 1, seed: 1));
                        train[p].Add(loops[Math.Min(p, loops.Count - 1)].RunEpoch());
                        batch64[p].Add(Score(network, data, 64));
                        batch1[p].Add(Score(network, data, 1, Math.Min(256, data.Count)));
                    }
                    SuiteReport.Progress($"numerics: {name} round {round + 1}: train {string.Join(" / ", train.Select(t => t[^1].ToString("F0", CultureInfo.InvariantCulture)))} images/s (unprotected / padded / off)");
                }
            }
            finally
            {
                loops.ForEach(l => l.Dispose());
            }
            for (int p = 0; p < Paths.Length; p++)
            {
                report.AddRow(new { table = "paths", network = name, path = Paths[p].Name, train = train[p], batch64 = batch64[p], batch1 = batch1[p] });
                table.Add(name, Paths[p].Name,
                    Format.Fixed(Statistics.Median(train[p]), 0), Format.Ratio(Statistics.Median(train[p]) / Statistics.Median(train[0])),
                    Format.Fixed(Statistics.Median(batch64[p]), 0), Format.Ratio(Statistics.Median(batch64[p]) / Statistics.Median(batch64[0])),
                    Format.Fixed(Statistics.Median(batch1[p]), 0), Format.Ratio(Statistics.Median(batch1[p]) / Statistics.Median(batch1[0])));
            }
        }
        report.Add(table);
        report.Note($"Networks: default = {BenchmarkNetworks.Default.LayersToString()}; child = `{BenchmarkNetworks.ChildPlan}`; main-job child = `{MainJobPlan}` = {MainJobChild.LayersToString()}.");
        report.Note("Training: the bare TorchSharp loop (the trainer's optimizer and schedule over pre-built batches), one epoch per path per round; loops are created on their own path, so the loop for a path always runs with that path's paddings. Scoring: eval-mode forward passes under no_grad. 'vs unprotected' > 1 is faster.");
    }

    private static NetworkDescription MainJobChild { get; } = MorphPlan.Parse(MainJobPlan)
        .Apply(BenchmarkNetworks.Default, NetworkWeights.Initialize(BenchmarkNetworks.Default, seed: 1), new MorphContext(seed: 1)).Network;

    /// <summary>Images per second of eval-mode forward passes at <paramref name="batch"/>.</summary>
    private static double Score(NetworkDescription network, LabeledFeatures data, int batch, int? limit = null)
    {
        using var module = new NetworkModule(network, NetworkWeights.Initialize(network, 1));
        module.eval();
        using var noGrad = no_grad();
        int count = Math.Min(limit ?? data.Count, data.Count), size = (int)network.Input.Size;
        using var all = tensor(data.Features.AsSpan(0, count * size).ToArray(), network.Input.WithBatch(count));
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < count; start += batch)
        {
            using var scope = NewDisposeScope();
            module.forward(all.narrow(0, start, Math.Min(batch, count - start))).sum().item<float>();
        }
        return count / clock.Elapsed.TotalSeconds;
    }
}
