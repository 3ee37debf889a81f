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

    /// <summary>
    /// Starts the script in interactive mode for <paramref name="network"/>: it loads the data, builds the
    /// model and waits; each <see cref="Session.RunEpoch"/> then trains one epoch, so that PyTorch's epochs
    /// can be interleaved with ours under the same machine load.
    /// </summary>
    public Session Start(NetworkDescription network, int batchSize, int images, int epochs, int threads) =>
        new(Python, network, batchSize, images, epochs, threads);

    /// <summary>One PyTorch process training one network, an epoch per call.</summary>
    internal sealed class Session : IDisposable
    {
        private readonly Process _process;
        private readonly string _networkFile;
        private readonly System.Text.StringBuilder _errors = new();
        private readonly int _images;

        public Session(string python, NetworkDescription network, int batchSize, int images, int epochs, int threads)
        {
            _networkFile = Path.Combine(Path.GetTempPath(), $"morphism-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
            File.WriteAllText(_networkFile, network.ToJson());
            var start = new ProcessStartInfo(python)
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var argument in new[] { RepositoryPaths.PyTorchScript, "--network", _networkFile, "--batch", Text(batchSize), "--images", Text(images),
                "--epochs", Text(epochs), "--threads", Text(threads), "--interactive" })
                start.ArgumentList.Add(argument);
            _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
            _process.ErrorDataReceived += (_, e) =>
            {
                lock (_errors)
                    _errors.AppendLine(e.Data);
            };
            _process.BeginErrorReadLine();
            using var ready = JsonDocument.Parse(ReadLine());
            _images = ready.RootElement.GetProperty("images").GetInt32();
        }

        /// <summary>Trains one epoch in PyTorch and returns its images per second (PyTorch's own clock).</summary>
        public double RunEpoch()
        {
            _process.StandardInput.WriteLine("epoch");
            _process.StandardInput.Flush();
            using var result = JsonDocument.Parse(ReadLine());
            return _images / result.RootElement.GetProperty("seconds").GetDouble();
        }

        public void Dispose()
        {
            try
            {
                _process.StandardInput.Close();
                if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
                    _process.Kill(entireProcessTree: true);
            }
            finally
            {
                _process.Dispose();
                File.Delete(_networkFile);
            }
        }

        private string ReadLine()
        {
            var line = _process.StandardOutput.ReadLine();
            if (line is not null)
                return line;
            _process.WaitForExit(TimeSpan.FromSeconds(10));
            lock (_errors)
                throw new InvalidOperationException($"The PyTorch script stopped{(_process.HasExited ? $" with exit code {_process.ExitCode}" : "")}: {_errors.ToString().Trim()}");
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
