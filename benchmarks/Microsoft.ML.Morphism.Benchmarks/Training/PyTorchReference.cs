// Reference (b) of the throughput suite: runs benchmarks/pytorch/train_throughput.py with a python that can import torch.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Benchmarks.Training;

/// <summary>
/// PyTorch on the same machine, in its own process: Debian's <c>python3-torch</c> (PyTorch 1.13.1, CPU,
/// no MKL) against our libtorch 2.10, so a ratio compares libtorch versions and builds as well as code.
/// Nothing is installed here: when no python with torch is found, the suite says how to install it.
/// </summary>
internal sealed class PyTorchReference
{
    public const string InstallCommand = "sudo apt-get install -y python3-torch";

    private PyTorchReference(string python, string version)
    {
        Python = python;
        Version = version;
    }

    public string Python { get; }

    /// <summary>torch.__version__ as the python reports it (Debian's 1.13.1 package reports 1.13.0a0).</summary>
    public string Version { get; }

    /// <summary>The first of <c>--python</c>, <c>python3</c> on the PATH and <c>/usr/bin/python3</c> that imports torch, or null.</summary>
    public static PyTorchReference? Find(BenchmarkOptions options)
    {
        if (!File.Exists(RepositoryPaths.PyTorchScript))
            return null;
        string[] candidates = options.Python is { } chosen ? [chosen] : ["python3", "/usr/bin/python3"];
        foreach (var python in candidates)
        {
            var (exitCode, output, _) = RunProcess(python, ["-c", "import torch; print(torch.__version__)"], TimeSpan.FromMinutes(2));
            if (exitCode == 0 && output.Trim().Length > 0)
                return new PyTorchReference(python, output.Trim());
        }
        return null;
    }

    /// <summary>Trains <paramref name="network"/> in PyTorch and returns each epoch's images per second.</summary>
    public IReadOnlyList<double> Run(NetworkDescription network, int batchSize, int images, int epochs, int threads)
    {
        var networkFile = Path.Combine(Path.GetTempPath(), $"morphism-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(networkFile, network.ToJson());
        try
        {
            string[] arguments = [RepositoryPaths.PyTorchScript, "--network", networkFile, "--batch", Text(batchSize), "--images", Text(images),
                "--epochs", Text(epochs), "--threads", Text(threads)];
            var (exitCode, output, error) = RunProcess(Python, arguments, TimeSpan.FromHours(2));
            if (exitCode != 0)
                throw new InvalidOperationException($"{Python} {string.Join(" ", arguments)} exited with {exitCode}: {error.Trim()}");
            using var result = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
            int trained = result.RootElement.GetProperty("images").GetInt32();
            return [.. result.RootElement.GetProperty("epochSeconds").EnumerateArray().Select(s => trained / s.GetDouble())];
        }
        finally
        {
            File.Delete(networkFile);
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static (int ExitCode, string Output, string Error) RunProcess(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, "", $"{fileName} not found");
        }
        using (process)
        {
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                return (-1, "", $"{fileName} did not finish within {timeout}");
            }
            return (process.ExitCode, output.Result, error.Result);
        }
    }
}
