// libtorch's process-wide backend switches (oneDNN, NNPACK), reached through their exported C++ symbols.
using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>
/// <c>at::globalContext()</c> and <c>at::Context::setUserEnabledMkldnn/NNPACK(bool)</c>, which TorchSharp
/// does not wrap. The names are Itanium C++ ABI mangled (Linux, macOS); where libtorch_cpu or an
/// entry point is missing (Windows, another libtorch) every call returns false with a reason, and the
/// caller carries on without the switch.
/// </summary>
internal static class LibTorchSwitches
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GlobalContext();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void SetFlag(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    [return: MarshalAs(UnmanagedType.U1)]
    private delegate bool GetFlag(IntPtr context);

    private static readonly Lazy<Entry?> Entries = new(Resolve);

    private sealed record Entry(IntPtr Context, SetFlag SetMkldnn, GetFlag? GetMkldnn, SetFlag SetNnpack);

    /// <summary>Why the switches are unavailable, or null when they are.</summary>
    public static string? Unavailable { get; private set; }

    /// <summary>Turns oneDNN (MKLDNN) on or off for the whole process; false when the switch is unavailable.</summary>
    public static bool TrySetOneDnn(bool enabled)
    {
        if (Entries.Value is not { } e)
            return false;
        e.SetMkldnn(e.Context, enabled);
        return true;
    }

    /// <summary>Whether libtorch will use oneDNN, or null when that cannot be read.</summary>
    public static bool? OneDnnEnabled => Entries.Value is { GetMkldnn: { } get } e ? get(e.Context) : null;

    /// <summary>Turns NNPACK on or off for the whole process; false when the switch is unavailable.</summary>
    public static bool TrySetNnpack(bool enabled)
    {
        if (Entries.Value is not { } e)
            return false;
        e.SetNnpack(e.Context, enabled);
        return true;
    }

    private static Entry? Resolve()
    {
        InitializeDeviceType(TorchSharp.DeviceType.CPU); // loads libtorch into the process
        string library = OperatingSystem.IsWindows() ? "torch_cpu.dll" : OperatingSystem.IsMacOS() ? "libtorch_cpu.dylib" : "libtorch_cpu.so";
        if (!NativeLibrary.TryLoad(library, typeof(LibTorchSwitches).Assembly, DllImportSearchPath.SafeDirectories | DllImportSearchPath.AssemblyDirectory, out var handle)
            && !NativeLibrary.TryLoad(library, out handle))
            return Missing($"{library} could not be loaded");
        IntPtr Export(string name) => NativeLibrary.TryGetExport(handle, name, out var address) ? address : IntPtr.Zero;
        var global = Export("_ZN2at13globalContextEv");
        var setMkldnn = Export("_ZN2at7Context20setUserEnabledMkldnnEb");
        var getMkldnn = Export("_ZNK2at7Context17userEnabledMkldnnEv");
        var setNnpack = Export("_ZN2at7Context20setUserEnabledNNPACKEb");
        if (global == IntPtr.Zero || setMkldnn == IntPtr.Zero || setNnpack == IntPtr.Zero)
            return Missing($"{library} does not export at::globalContext() and at::Context::setUserEnabledMkldnn/NNPACK under their Itanium ABI names");
        var context = Marshal.GetDelegateForFunctionPointer<GlobalContext>(global)();
        return new Entry(context,
            Marshal.GetDelegateForFunctionPointer<SetFlag>(setMkldnn),
            getMkldnn == IntPtr.Zero ? null : Marshal.GetDelegateForFunctionPointer<GetFlag>(getMkldnn),
            Marshal.GetDelegateForFunctionPointer<SetFlag>(setNnpack));
    }

    private static Entry? Missing(string reason)
    {
        Unavailable = reason;
        Debug.WriteLine($"Microsoft.ML.Morphism: libtorch's oneDNN/NNPACK switches are unavailable ({reason}); the numerics self-check still guards every convolution.");
        return null;
    }
}
