// The micro suite: BenchmarkDotNet over the morph functions, in process, summarised as one markdown table.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.ML.Morphism.Benchmarks.Micro;
using Microsoft.ML.Morphism.Benchmarks.Runner;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// Runs <see cref="MorphFunctionBenchmarks"/> with BenchmarkDotNet's in-process toolchain (the
/// repository's build settings — warnings as errors, central package versions — would have to be
/// replicated for its generated projects otherwise). Quick: BenchmarkDotNet's short run; full: its
/// default job. Its own log goes to stderr; the summary is this suite's table.
/// </summary>
internal sealed class MicroSuite : ISuite
{
    public string Name => "micro";

    public string Summary => "BenchmarkDotNet micro-benchmarks of the morph functions (64-channel layer)";

    public void Run(SuiteReport report)
    {
        var job = (report.Options.Quick ? Job.ShortRun : Job.Default).WithToolchain(InProcessEmitToolchain.Instance);
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddLogger(new StandardErrorLogger())
            .AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray())
            .AddDiagnoser(DefaultConfig.Instance.GetDiagnosers().ToArray())
            .WithArtifactsPath(Path.Combine(report.Options.OutputFolder, "micro-bdn"))
            .WithOptions(ConfigOptions.DisableLogFile);
        var summary = BenchmarkRunner.Run<MorphFunctionBenchmarks>(config);

        var table = new MarkdownTable($"Morph functions (BenchmarkDotNet {(report.Options.Quick ? "short run" : "default job")}, in process)",
            "benchmark", "mean ms", "error ms (99.9 %)", "std dev ms", "median ms", "allocated KB", "iterations");
        foreach (var benchmark in summary.Reports)
        {
            var stats = benchmark.ResultStatistics;
            if (stats is null)
            {
                table.Add(benchmark.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo, "failed", "", "", "", "", "");
                continue;
            }
            double allocatedKb = (benchmark.GcStats.GetBytesAllocatedPerOperation(benchmark.BenchmarkCase) ?? 0) / 1024.0;
            table.Add(benchmark.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo, Format.Ms(stats.Mean / 1e6), Format.Ms(stats.ConfidenceInterval.Margin / 1e6),
                Format.Ms(stats.StandardDeviation / 1e6), Format.Ms(stats.Median / 1e6), Format.Fixed(allocatedKb, 1), stats.N.ToString(System.Globalization.CultureInfo.InvariantCulture));
            report.AddRow(new MicroRow(benchmark.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo, stats.Mean / 1e6, stats.StandardDeviation / 1e6,
                stats.Median / 1e6, allocatedKb, stats.N));
        }
        report.Add(table);
        report.Note("Allocated KB: managed memory per call as BenchmarkDotNet's MemoryDiagnoser counts it; the tensors' native memory is not included.");
    }
}

internal sealed record MicroRow(string Benchmark, double MeanMs, double StdDevMs, double MedianMs, double AllocatedKb, int Iterations);

/// <summary>BenchmarkDotNet's log on stderr, so stdout keeps only the report.</summary>
internal sealed class StandardErrorLogger : ILogger
{
    public string Id => nameof(StandardErrorLogger);

    public int Priority => 0;

    public void Write(LogKind logKind, string text) => Console.Error.Write(text);

    public void WriteLine() => Console.Error.WriteLine();

    public void WriteLine(LogKind logKind, string text) => Console.Error.WriteLine(text);

    public void Flush() => Console.Error.Flush();
}
