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

if (BenchmarkOptions.Parse(args, suites, out var exitCode) is not { } options)
    return exitCode; // help (0), no suite or bad arguments (2)

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
