// The runner's command line: which suites, quick or full settings, threads, and overrides for sizes.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

/// <summary>
/// <c>&lt;suite&gt;... [--quick] [--threads N] [--rounds N] [--images N] [--epochs N] [--network default|child] [--python PATH] [--no-pytorch] [--out DIR]</c>.
/// Quick settings are for checking that a suite runs (seconds to a few minutes); the full settings are
/// what docs/benchmarks.md reports. The overrides exist so a quiet machine can afford larger runs.
/// </summary>
internal sealed record BenchmarkOptions
{
    public required IReadOnlyList<string> Suites { get; init; }
    public bool Quick { get; init; }
    public int Threads { get; init; } = Environment.ProcessorCount;
    public int? Rounds { get; init; }
    public int? Images { get; init; }
    public int? Epochs { get; init; }
    /// <summary>Only this network in the training and scoring suites ("default" or "child"); null = both.</summary>
    public string? Network { get; init; }
    public string? Python { get; init; }
    public bool SkipPyTorch { get; init; }
    public required string OutputFolder { get; init; }
    /// <summary>The exact command that reproduces this run, for every table's caption.</summary>
    public required string Command { get; init; }

    /// <summary>A size for this run: the override when given, else the quick or the full default.</summary>
    public int Pick(int? overrideValue, int quick, int full) => overrideValue ?? (Quick ? quick : full);

    private static readonly Argument<string[]> SuitesArgument = new("suite")
    {
        Description = "the suites to run (see above), or help",
        Arity = ArgumentArity.ZeroOrMore,
    };
    private static readonly Option<bool> QuickOption = new("--quick") { Description = "small sizes: checks that a suite runs, in seconds to a few minutes" };
    private static readonly Option<int> ThreadsOption = ExampleCommandLine.WholeNumber("--threads", "TorchSharp intra-op threads (default: the machine's cores)", Environment.ProcessorCount);
    private static readonly Option<int?> RoundsOption = ExampleCommandLine.OptionalWholeNumber("--rounds", "repetitions of each measurement (default: the suite's quick or full setting)");
    private static readonly Option<int?> ImagesOption = ExampleCommandLine.OptionalWholeNumber("--images", "training images (default: the suite's quick or full setting)");
    private static readonly Option<int?> EpochsOption = ExampleCommandLine.OptionalWholeNumber("--epochs", "training epochs (default: the suite's quick or full setting)");
    private static readonly Option<string?> NetworkOption = new Option<string?>("--network")
    {
        Description = "only this network in the training and scoring suites (default: both)",
    }.AcceptOnlyFromAmong("default", "child");
    private static readonly Option<string?> PythonOption = new("--python") { HelpName = "path", Description = "the Python with PyTorch for the reference runs" };
    private static readonly Option<bool> NoPyTorchOption = new("--no-pytorch") { Description = "skip the PyTorch reference runs" };
    private static readonly Option<string?> OutOption = new("--out") { HelpName = "dir", Description = "where <suite>.json goes (default: artifacts/ at the repository root)" };

    /// <summary>
    /// Reads the command line; null after printing the help (exit code 0 for <c>help</c> or <c>--help</c>, 2 when no
    /// suite is named) or why the arguments are wrong, followed by the help (exit code 2).
    /// </summary>
    public static BenchmarkOptions? Parse(string[] args, IReadOnlyList<ISuite> suites, out int exitCode)
    {
        var command = new RootCommand($"""
            Runs benchmark suites. Results: a markdown report on stdout (progress on stderr) and artifacts/<suite>.json. See docs/benchmarks.md.

            From the repository root: dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- <suite>... [options]

            Suites:
            {string.Join("\n", suites.Select(s => $"  {s.Name,-13} {s.Summary}"))}
              all           every suite above, in this order
            """)
        {
            SuitesArgument, QuickOption, ThreadsOption, RoundsOption, ImagesOption, EpochsOption, NetworkOption, PythonOption, NoPyTorchOption, OutOption,
        };
        var options = ExampleCommandLine.Parse(command, args, result =>
        {
            var names = result.GetValue(SuitesArgument) ?? [];
            var unknown = names.Where(name => name is not ("all" or "help") && suites.All(suite => suite.Name != name)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException($"Unknown suite(s): {string.Join(", ", unknown)}.");
            return new BenchmarkOptions
            {
                Suites = names,
                Quick = result.GetValue(QuickOption),
                Threads = result.GetValue(ThreadsOption),
                Rounds = result.GetValue(RoundsOption),
                Images = result.GetValue(ImagesOption),
                Epochs = result.GetValue(EpochsOption),
                Network = result.GetValue(NetworkOption),
                Python = result.GetValue(PythonOption),
                SkipPyTorch = result.GetValue(NoPyTorchOption),
                OutputFolder = Path.GetFullPath(result.GetValue(OutOption) ?? Path.Combine(RepositoryPaths.Root, "artifacts")),
                Command = "dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- " + string.Join(" ", args),
            };
        }, out exitCode);
        if (options is not null && (options.Suites.Count == 0 || options.Suites.Contains("help")))
        {
            ExampleCommandLine.WriteHelp(command, Console.Error);
            exitCode = options.Suites.Count == 0 ? ExampleCommandLine.BadArguments : 0;
            return null;
        }
        return options;
    }

    /// <summary>The command for one suite with this run's settings (what a table's caption shows).</summary>
    public string CommandFor(string suite)
    {
        var parts = new List<string> { suite };
        if (Quick) parts.Add("--quick");
        if (Threads != Environment.ProcessorCount) parts.Add($"--threads {Threads}");
        if (Rounds is { } r) parts.Add($"--rounds {r}");
        if (Images is { } n) parts.Add($"--images {n}");
        if (Epochs is { } e) parts.Add($"--epochs {e}");
        if (Network is { } w) parts.Add($"--network {w}");
        if (Python is { } p) parts.Add($"--python {p}");
        if (SkipPyTorch) parts.Add("--no-pytorch");
        return "dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- " + string.Join(" ", parts);
    }
}
