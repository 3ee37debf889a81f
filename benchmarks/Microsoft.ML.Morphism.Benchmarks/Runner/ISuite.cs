// The contract of a benchmark suite: a name for the command line and one run that fills a report.
namespace Microsoft.ML.Morphism.Benchmarks.Runner;

internal interface ISuite
{
    /// <summary>The command-line name, e.g. <c>morph-cost</c>.</summary>
    string Name { get; }

    /// <summary>One line for the usage text.</summary>
    string Summary { get; }

    /// <summary>Measures and records tables, rows and notes in <paramref name="report"/>.</summary>
    void Run(SuiteReport report);
}
