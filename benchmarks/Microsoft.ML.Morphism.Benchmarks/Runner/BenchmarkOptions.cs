// The runner's command line: which suites, quick or full settings, threads, and overrides for sizes.
using System.Globalization;

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

    public static BenchmarkOptions Parse(string[] args)
    {
        var suites = new List<string>();
        bool quick = false, skipPyTorch = false;
        int threads = Environment.ProcessorCount;
        int? rounds = null, images = null, epochs = null;
        string? python = null, output = null, network = null;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Positive() => int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n : throw new ArgumentException($"{args[i - 1]} needs a positive integer.");
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--threads": threads = Positive(); break;
                case "--rounds": rounds = Positive(); break;
                case "--images": images = Positive(); break;
                case "--epochs": epochs = Positive(); break;
                case "--python": python = Value(); break;
                case "--network":
                    network = Value();
                    if (network is not ("default" or "child"))
                        throw new ArgumentException("--network takes default or child.");
                    break;
                case "--no-pytorch": skipPyTorch = true; break;
                case "--out": output = Value(); break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal))
                        throw new ArgumentException($"Unknown option {args[i]}.");
                    suites.Add(args[i]);
                    break;
            }
        }
        return new BenchmarkOptions
        {
            Suites = suites,
            Quick = quick,
            Threads = threads,
            Rounds = rounds,
            Images = images,
            Epochs = epochs,
            Network = network,
            Python = python,
            SkipPyTorch = skipPyTorch,
            OutputFolder = Path.GetFullPath(output ?? Path.Combine(RepositoryPaths.Root, "artifacts")),
            Command = "dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- " + string.Join(" ", args),
        };
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
