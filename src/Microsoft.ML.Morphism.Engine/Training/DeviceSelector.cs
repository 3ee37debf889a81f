// Chooses the TorchSharp device for training and scoring, with an injectable CUDA availability check.
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Picks a device from a request: <c>"cpu"</c> (default), <c>"cuda"</c> or <c>"cuda:N"</c>, or a GPU
/// index (ML.NET's <c>GpuDeviceId</c>). When CUDA is requested but not available, falls back to the
/// CPU if allowed (ML.NET's <c>FallbackToCpu</c>), else throws. CUDA paths are untested here (no
/// CUDA TorchSharp package is served to the build machines); the selection logic is tested through
/// the injectable availability check.
/// </summary>
public static class DeviceSelector
{
    /// <summary>Resolves a request to a device description ("cpu" or "cuda:N").</summary>
    /// <param name="requested">"cpu", "cuda", "cuda:N", or null/empty for the default.</param>
    /// <param name="gpuDeviceId">A GPU index asked for by the host (e.g. MLContext.GpuDeviceId), used when <paramref name="requested"/> is empty.</param>
    /// <param name="fallbackToCpu">Use the CPU when CUDA is asked for but unavailable.</param>
    /// <param name="cudaDeviceCount">How many CUDA devices exist (injectable for tests; defaults to TorchSharp's answer).</param>
    public static string Resolve(string? requested, int? gpuDeviceId, bool fallbackToCpu, Func<int>? cudaDeviceCount = null)
    {
        string wanted = string.IsNullOrWhiteSpace(requested)
            ? gpuDeviceId is { } id ? $"cuda:{id}" : "cpu"
            : requested.Trim().ToLowerInvariant();
        if (wanted == "cpu")
            return "cpu";
        int index = 0;
        if (wanted != "cuda" && !(wanted.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(wanted[5..], out index) && index >= 0))
            throw new ArgumentException($"Device '{requested}' is not valid; use \"cpu\", \"cuda\" or \"cuda:N\".");
        int available = (cudaDeviceCount ?? CudaDeviceCount)();
        if (index < available)
            return $"cuda:{index}";
        if (fallbackToCpu)
            return "cpu";
        throw new InvalidOperationException(available == 0
            ? $"Device '{wanted}' was requested but CUDA is not available (is a CUDA TorchSharp backend installed? build with -p:TorchBackend=cuda-linux or cuda-windows); set FallbackToCpu to train on the CPU instead."
            : $"Device '{wanted}' was requested but only {available} CUDA device(s) exist.");
    }

    /// <summary>The TorchSharp device for a resolved description.</summary>
    public static Device ToDevice(string resolved) => resolved == "cpu" ? CPU : new Device(resolved);

    private static int CudaDeviceCount()
    {
        try
        {
            return cuda.is_available() ? cuda.device_count() : 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TypeInitializationException)
        {
            return 0;
        }
    }
}
