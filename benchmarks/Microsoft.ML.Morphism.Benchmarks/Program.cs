// The benchmark runner: `dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- <suite> [--quick]`.
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Suites;
using static TorchSharp.torch;

ISuite[] suites =
[
    new PreservationSuite(),
    new MorphCostSuite(),
    new ThroughputSuite(),
    new BreakdownSuite(),
    new ScoringSuite(),
    new ModelSizeSuite(),
    new MemorySuite(),
    new MicroSuite(),
    new VerdictSuite(),
    new NumericsSuite(),
];

BenchmarkOptions options;
try
{
    options = BenchmarkOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return Usage(2);
}
if (options.Suites.Count == 0 || options.Suites.Contains("help"))
    return Usage(options.Suites.Count == 0 ? 2 : 0);
var unknown = options.Suites.Where(s => s != "all" && suites.All(x => x.Name != s)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"Unknown suite(s): {string.Join(", ", unknown)}.");
    return Usage(2);
}

#if DEBUG
Console.Error.WriteLine("Warning: a Debug build; timings mean nothing. Use `dotnet run -c Release ...`.");
#endif

// Read libtorch's own thread default before anything changes it (it is the trainer's default too).
var machine = MachineInfo.Capture(options.Threads);
set_num_threads(options.Threads);
manual_seed(1);

var selected = options.Suites.Contains("all") ? suites : suites.Where(s => options.Suites.Contains(s.Name)).ToArray();
foreach (var suite in selected)
{
    var report = new SuiteReport(suite.Name, options, machine);
    suite.Run(report);
    report.Finish();
}
return 0;

int Usage(int exitCode)
{
    Console.Error.WriteLine("Usage: dotnet run -c Release --project benchmarks/Microsoft.ML.Morphism.Benchmarks -- <suite>... [--quick]");
    Console.Error.WriteLine("         [--threads N] [--rounds N] [--images N] [--epochs N] [--network default|child] [--python PATH] [--no-pytorch] [--out DIR]");
    Console.Error.WriteLine("Suites:");
    foreach (var suite in suites)
        Console.Error.WriteLine($"  {suite.Name,-13} {suite.Summary}");
    Console.Error.WriteLine("  all           every suite above, in this order");
    Console.Error.WriteLine("Results: a markdown report on stdout (progress on stderr) and artifacts/<suite>.json. See docs/benchmarks.md.");
    return exitCode;
}
