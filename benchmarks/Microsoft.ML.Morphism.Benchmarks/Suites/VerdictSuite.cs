// The numerics verdict of this machine (CI prints it before the tests): CPU, libtorch, the convolution path and why.
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Platform;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>Runs (or reads from the cache) the self-check for the default network and prints the verdict.</summary>
internal sealed class VerdictSuite : ISuite
{
    public string Name => "verdict";

    public string Summary => "the numerics self-check's verdict for this CPU and thread count (seconds; cached per key)";

    public void Run(SuiteReport report) => Record(report);

    public static void Record(SuiteReport report)
    {
        var verdict = ConvolutionNumerics.EnsureVerified(BenchmarkNetworks.Default);
        var line = $"Numerics verdict: {verdict.Path} ({(verdict.FromCache ? "from the disk cache" : $"checked now in {verdict.CheckTime.TotalSeconds:F2} s")}). {verdict.Reason}";
        Console.Error.WriteLine(line);
        report.Note(line);
        report.AddRow(new { verdict.Path, verdict.Reason, verdict.FromCache, CheckSeconds = verdict.CheckTime.TotalSeconds });
    }
}
