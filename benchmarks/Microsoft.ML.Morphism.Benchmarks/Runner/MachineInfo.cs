// What every result header states: the machine, its cores, the software versions, the thread count and the load.
using System.Globalization;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

/// <summary>The machine and software a run measured, captured once per process.</summary>
internal sealed record MachineInfo(string Host, string Cpu, int Cores, string Os, string Dotnet, string TorchSharp, string LibTorch,
    int LibTorchDefaultThreads, int Threads)
{
    /// <summary>
    /// Reads the machine. Call before anything sets libtorch's thread count, so that
    /// <see cref="LibTorchDefaultThreads"/> is libtorch's own default (the trainer's default too).
    /// </summary>
    public static MachineInfo Capture(int threads)
    {
        int libtorchDefault = get_num_threads();
        return new MachineInfo(
            Environment.MachineName,
            CpuModel(),
            Environment.ProcessorCount,
            RuntimeInformation.OSDescription,
            RuntimeInformation.FrameworkDescription,
            typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString(3) ?? "?",
            __version__,
            libtorchDefault,
            threads);
    }

    /// <summary>The 1-minute load average (Linux <c>/proc/loadavg</c>), or null where there is none.</summary>
    public static double? LoadAverage()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.Parse(first, CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>Peak resident set size of this process (Linux <c>VmHWM</c>), in bytes, or null.</summary>
    public static long? PeakResidentBytes() => StatusField("VmHWM:");

    /// <summary>Current resident set size of this process (Linux <c>VmRSS</c>), in bytes, or null.</summary>
    public static long? ResidentBytes() => StatusField("VmRSS:");

    private static long? StatusField(string field)
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
            var kb = line?[field.Length..].Trim().Split(' ')[0];
            return kb is null ? null : long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static string CpuModel()
    {
        try
        {
            var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            return line?[(line.IndexOf(':') + 1)..].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }
}
