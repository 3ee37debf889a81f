// Runs an example program's built .dll in a child process ("dotnet <Example>.dll <args>") under a timeout, for the smoke tests.
using System.Diagnostics;
using System.Reflection;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>How one run of an example ended and what it printed.</summary>
internal sealed record ExampleRun(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed)
{
    /// <summary>Everything, for assertion messages: a failing smoke test shows what the example said.</summary>
    public override string ToString() =>
        $"exit code {ExitCode} after {Elapsed.TotalSeconds:F1} s{Environment.NewLine}--- standard output:{Environment.NewLine}{StandardOutput}"
        + $"{Environment.NewLine}--- standard error:{Environment.NewLine}{StandardError}";
}

internal static class ExampleProcess
{
    private const string MetadataPrefix = "ExamplePath:";

    /// <summary>
    /// The built .dll of example <paramref name="exampleName"/> (its project name), as the test project's build recorded it:
    /// every <c>ProjectReference</c> marked <c>Example="true"</c> gets an <c>ExamplePath:&lt;name&gt;</c> assembly metadata entry.
    /// </summary>
    public static string PathOf(string exampleName)
    {
        var recorded = typeof(ExampleProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Where(a => a.Key.StartsWith(MetadataPrefix, StringComparison.Ordinal))
            .ToDictionary(a => a.Key[MetadataPrefix.Length..], a => a.Value!);
        if (!recorded.TryGetValue(exampleName, out var path))
            throw new InvalidOperationException(
                $"No example '{exampleName}' is recorded (known: {string.Join(", ", recorded.Keys.Order())}); add "
                + $"<ProjectReference Include=\"../../examples/{exampleName}/{exampleName}.csproj\" ReferenceOutputAssembly=\"false\" Example=\"true\" /> to the test project.");
        return path;
    }

    /// <summary>
    /// Runs <c>dotnet &lt;example&gt;.dll <paramref name="args"/></c> in the temp folder and returns its exit code and output.
    /// </summary>
    /// <exception cref="TimeoutException">The example did not finish within <paramref name="timeout"/>; it is killed, and the message holds what it printed.</exception>
    public static ExampleRun Run(string exampleName, TimeSpan timeout, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet", [PathOf(exampleName), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // Examples write relative paths (e.g. QuickStart's default --out) to the working folder: never the repository.
            WorkingDirectory = Path.GetTempPath(),
        };
        // One intra-op thread: the tests run in parallel on a 2-core machine, and libtorch's OpenMP workers
        // spinning against other test processes made child processes many times slower (see CorruptModelProbeProcess).
        info.Environment["OMP_NUM_THREADS"] = "1";
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            throw new TimeoutException(
                $"Example {exampleName} did not finish within {timeout.TotalSeconds:F0} s.{Environment.NewLine}"
                + $"--- standard output:{Environment.NewLine}{stdout.Result}{Environment.NewLine}--- standard error:{Environment.NewLine}{stderr.Result}");
        }
        process.WaitForExit(); // lets the output readers reach the end of both streams
        return new ExampleRun(process.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }
}
