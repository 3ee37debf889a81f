// Runs the CorruptModelProbe console app (loads and scores many model files in one fresh process) under a timeout.
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>What the probe reported for one model file: "scored" (with a hash of the scores), "error" (with the exception chain) or only "begin".</summary>
internal sealed record ProbeOutcome(int Index, string Outcome, string? Scores, IReadOnlyList<ProbeException> Exceptions)
{
    /// <summary>Load and score time, in seconds (null for "begin").</summary>
    public double? Seconds { get; init; }

    /// <summary>The highest resident set size while on this model, less the probe's after model 0 was scored, in MB.</summary>
    public double? PeakRssAboveBaselineMB { get; init; }

    public bool Scored => Outcome == "scored";

    public bool Failed => Outcome == "error";

    /// <summary>Every message of the chain, outermost first.</summary>
    public string MessageChain => string.Join(" --> ", Exceptions.Select(e => $"{e.Type}: {e.Message}"));
}

/// <summary>One exception of a chain (outermost first).</summary>
internal sealed record ProbeException(string Type, string Message);

/// <summary>How the probe process ended, and what it reported for each model it started on.</summary>
internal sealed record ProbeRun(IReadOnlyList<ProbeOutcome> Outcomes, int? ExitCode, bool TimedOut, string StandardError, TimeSpan Elapsed)
{
    /// <summary>The model the probe was on when it crashed or hung, or null when every model finished.</summary>
    public int? Unfinished => Outcomes.LastOrDefault(o => o.Outcome == "begin")?.Index;
}

internal static class CorruptModelProbeProcess
{
    public static string ProbePath { get; } = typeof(CorruptModelProbeProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "CorruptModelProbePath").Value!;

    /// <summary>
    /// Loads each of <paramref name="models"/> and scores <paramref name="inputIdv"/> with it, in one child process;
    /// <paramref name="failFastAt"/> makes the probe die abruptly on that model (to test the attribution).
    /// </summary>
    public static ProbeRun Run(IReadOnlyList<string> models, string inputIdv, string listPath, TimeSpan timeout, int? failFastAt = null)
    {
        File.WriteAllLines(listPath, models);
        var info = new ProcessStartInfo("dotnet", [ProbePath, listPath, inputIdv])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // One intra-op thread: each model scores a few rows, and on a busy 2-core machine OpenMP's spinning
        // worker threads made the probe ten times slower (29 s instead of 3 s for 301 models).
        info.Environment["OMP_NUM_THREADS"] = "1";
        if (failFastAt is { } index)
            info.Environment["MORPHISM_PROBE_FAIL_FAST_AT"] = index.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(info)!;
        var lines = new List<string>();
        var stdout = Task.Run(() =>
        {
            while (process.StandardOutput.ReadLine() is { } line)
                lock (lines)
                    lines.Add(line);
        });
        var stderr = process.StandardError.ReadToEndAsync();
        bool exited = process.WaitForExit(timeout);
        if (!exited)
            process.Kill(entireProcessTree: true);
        process.WaitForExit();
        stdout.Wait(TimeSpan.FromSeconds(10));
        List<ProbeOutcome> outcomes;
        lock (lines)
            outcomes = [.. Merge(lines.Select(Parse))];
        return new ProbeRun(outcomes, exited ? process.ExitCode : null, !exited, stderr.Wait(TimeSpan.FromSeconds(10)) ? stderr.Result : "", clock.Elapsed);
    }

    private static ProbeOutcome Parse(string line)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        var exceptions = root.TryGetProperty("Exceptions", out var chain)
            ? chain.EnumerateArray().Select(e => new ProbeException(e.GetProperty("Type").GetString()!, e.GetProperty("Message").GetString()!)).ToList()
            : [];
        return new ProbeOutcome(root.GetProperty("Index").GetInt32(), root.GetProperty("Outcome").GetString()!,
            root.TryGetProperty("Scores", out var scores) ? scores.GetString() : null, exceptions)
        {
            Seconds = root.TryGetProperty("Seconds", out var seconds) ? seconds.GetDouble() : null,
            PeakRssAboveBaselineMB = root.TryGetProperty("PeakRssAboveBaselineMB", out var rss) ? rss.GetDouble() : null,
        };
    }

    // Keeps the last report per model: "begin" is replaced by its result when one follows.
    private static IEnumerable<ProbeOutcome> Merge(IEnumerable<ProbeOutcome> reports) =>
        reports.GroupBy(r => r.Index).Select(g => g.Last()).OrderBy(o => o.Index);
}
