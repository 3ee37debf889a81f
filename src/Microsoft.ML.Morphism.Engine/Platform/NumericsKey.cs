// What a numerics verdict depends on: CPU model and flags, libtorch version, thread count, oneDNN environment and the requested mode.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>The key a verdict is decided and cached under; two processes with equal keys take the same path.</summary>
internal sealed record NumericsKey(string Cpu, string Flags, string LibTorch, int Threads, string Environment, OneDnnMode Mode)
{
    /// <summary>Bumped when the canary set, the bounds or the padding rule change, so older cached verdicts are not reused.</summary>
    public const int CheckVersion = 1;

    private static readonly Lazy<(string Model, string Flags)> CpuInfo = new(ReadCpu);
    private static readonly string[] OneDnnVariables = ["ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY"];

    /// <summary>The key of this process now.</summary>
    public static NumericsKey Current(OneDnnMode mode)
    {
        var (model, flags) = CpuInfo.Value;
        var environment = string.Join(";", OneDnnVariables.Select(name => $"{name}={System.Environment.GetEnvironmentVariable(name)}"));
        return new NumericsKey(model, flags, TorchSharp.torch.__version__, TorchSharp.torch.get_num_threads(), environment, mode);
    }

    /// <summary>A short file-name-safe digest of the whole key.</summary>
    public string Digest => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ToString())))[..16].ToLowerInvariant();

    /// <summary>The CPU's model name, for messages.</summary>
    public string Describe() => $"{Cpu}, libtorch {LibTorch}, {Threads} thread(s)";

    /// <inheritdoc/>
    public override string ToString() => $"v{CheckVersion}|{Cpu}|{Flags}|{LibTorch}|{Threads}|{Environment}|{Mode}";

    private static (string Model, string Flags) ReadCpu()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo"))
            {
                string? model = null, flags = null;
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    var colon = line.IndexOf(':');
                    if (colon < 0)
                        continue;
                    var name = line[..colon].Trim();
                    if (model is null && name == "model name")
                        model = line[(colon + 1)..].Trim();
                    else if (flags is null && (name == "flags" || name == "Features"))
                        flags = string.Join(' ', line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
                    if (model is not null && flags is not null)
                        break;
                }
                if (model is not null || flags is not null)
                    return (model ?? RuntimeInformation.ProcessArchitecture.ToString(), flags ?? IntrinsicFlags());
            }
        }
        catch (IOException)
        {
            // fall through to what .NET reports
        }
        return (RuntimeInformation.ProcessArchitecture.ToString(), IntrinsicFlags());
    }

    private static string IntrinsicFlags()
    {
        var flags = new List<string>();
        if (Avx2.IsSupported) flags.Add("avx2");
        if (Avx512F.IsSupported) flags.Add("avx512f");
        if (Avx512BW.IsSupported) flags.Add("avx512bw");
        if (Avx512Vbmi.IsSupported) flags.Add("avx512vbmi");
        if (AvxVnni.IsSupported) flags.Add("avx_vnni");
        if (Fma.IsSupported) flags.Add("fma");
        return string.Join(' ', flags);
    }
}
