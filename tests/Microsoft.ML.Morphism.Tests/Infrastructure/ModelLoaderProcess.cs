using System.Diagnostics;
using System.Reflection;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>Runs the ModelLoader console app (stock ML.NET load in a fresh process) and reports what it printed.</summary>
internal static class ModelLoaderProcess
{
    public static string LoaderPath { get; } = typeof(ModelLoaderProcess).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ModelLoaderPath").Value!;

    /// <summary>Loads <paramref name="modelPath"/> in a new process, scores <paramref name="inputIdv"/> and writes <paramref name="outputIdv"/>.</summary>
    public static string Score(string modelPath, string inputIdv, string outputIdv, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("dotnet", [LoaderPath, modelPath, inputIdv, outputIdv])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the model loader did not finish: {stdout.Result}{stderr.Result}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the model loader exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }
}
