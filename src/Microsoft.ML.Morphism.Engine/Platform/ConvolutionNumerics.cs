// The process-wide numerics self-check: decides once per key how float32 CPU convolutions run correctly, or refuses.
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>What the user asks for (<see cref="ConvolutionNumerics.Mode"/> or <c>MORPHISM_ONEDNN</c>).</summary>
public enum OneDnnMode
{
    /// <summary>The self-check picks the fastest correct path: plain oneDNN, then channel padding, then oneDNN off.</summary>
    Auto,

    /// <summary>Plain oneDNN only; a failing self-check throws.</summary>
    On,

    /// <summary>oneDNN on, with convolutions padded to channel multiples of 16; a failing self-check throws.</summary>
    Pad,

    /// <summary>oneDNN off for the process; a failing self-check throws.</summary>
    Off,
}

/// <summary>How float32 CPU convolutions run in this process, cheapest first (a process never moves back down).</summary>
public enum ConvolutionPath
{
    /// <summary>libtorch as it is (oneDNN on).</summary>
    Native,

    /// <summary>oneDNN on; convolutions whose channel counts are not multiples of 16 run with zero channels added (exact).</summary>
    Padded,

    /// <summary>oneDNN off for the process (libtorch's own kernels; slower).</summary>
    OneDnnOff,
}

/// <summary>The decision for this process: the path, why, and what the check cost.</summary>
public sealed record NumericsVerdict(ConvolutionPath Path, string Reason, TimeSpan CheckTime, bool FromCache)
{
    /// <inheritdoc/>
    public override string ToString() => Reason;
}

/// <summary>The self-check found no way to compute a convolution correctly on this machine.</summary>
public sealed class ConvolutionNumericsException(string message) : InvalidOperationException(message);

/// <summary>
/// Guards every float32 convolution on the CPU against libtorch computing it wrong: some AVX-512
/// CPUs get wrong or NaN results from oneDNN for channel counts that are not multiples of 16,
/// intermittently, in forward and backward. Before the first convolution of a network (every
/// <see cref="Modules.NetworkModule"/> in float32 on the CPU calls <see cref="EnsureVerified(NetworkDescription)"/>),
/// the check compares float32 forward, input gradient and weight gradient with float64
/// (<see cref="ConvolutionCheck"/>) for a fixed canary set and for every conv shape of the network,
/// and picks the cheapest correct <see cref="ConvolutionPath"/>. The decision is made once per key
/// (CPU model and flags, libtorch version, thread count, oneDNN environment, requested mode) and
/// cached on disk, so every process on that key takes the same path; a shape that fails later moves
/// the whole process up a path, never down. NNPACK is switched off at the first check (it only logs
/// "Unsupported hardware" on these CPUs; libtorch prefers oneDNN wherever NNPACK would apply).
/// </summary>
public static class ConvolutionNumerics
{
    /// <summary>The environment variable that forces a mode: <c>auto</c> (default), <c>on</c>, <c>pad</c> or <c>off</c>.</summary>
    public const string ModeVariable = "MORPHISM_ONEDNN";

    /// <summary>Repetitions of each canary that faulted intermittently, and of every network shape per batch size.</summary>
    internal const int IntermittentRepetitions = 8;

    /// <summary>Batch sizes every network conv shape is checked at: single-row scoring and a small batch.</summary>
    internal static readonly int[] NetworkCheckBatches = [1, 8];

    private static readonly object Gate = new();
    private static readonly ConcurrentDictionary<ConvolutionShape, ChannelPadding> Paddings = new();
    private static readonly HashSet<ConvolutionShape> Verified = [];
    private static readonly List<(string Layer, ConvolutionShape Shape)> SeenShapes = [];
    private static OneDnnMode? _mode;
    private static NumericsKey? _key;
    private static volatile NumericsVerdict? _verdict;
    private static ConvolutionPath _path = ConvolutionPath.Native;
    private static NumericsVerdictCache _cache = new(NumericsVerdictCache.DefaultDirectory);
    private static string? _pendingReport;
    private static bool _nnpackHandled;
    private static bool _unchecked;

    /// <summary>
    /// The canaries: the shapes found faulty on an affected AMD EPYC (AVX-512) VM, and two that were
    /// always right. The 20/24/40-channel convs (faulty on every try there, at batch 2 to 64) run at
    /// batch 16, which keeps the whole set under a second; the intermittent ones (1→8, 8→8, faulty on
    /// 20–90 % of tries) run <see cref="IntermittentRepetitions"/> times each, 48 tries in all: if each
    /// try of a faulty shape fails with probability ≥ 0.2, all of them pass with probability ≤ 0.8^48 ≈ 2e-5.
    /// </summary>
    public static IReadOnlyList<(ConvolutionShape Shape, int Repetitions)> Canaries { get; } =
    [
        (new(16, 20, 20, 14, 14, 3, Padding: 1), 1),
        (new(16, 24, 24, 14, 14, 3, Padding: 1), 1),
        (new(16, 40, 40, 14, 14, 3, Padding: 1), 1),
        (new(16, 24, 48, 14, 14, 5, Padding: 2), 1),
        (new(16, 8, 8, 14, 14, 3), IntermittentRepetitions),
        (new(16, 1, 8, 16, 16, 3), IntermittentRepetitions),
        (new(16, 8, 8, 16, 16, 3), IntermittentRepetitions),
        (new(64, 8, 8, 14, 14, 3), 1),
        (new(16, 8, 8, 14, 14, 3, Padding: 1), IntermittentRepetitions),
        (new(8, 8, 8, 8, 8, 3), IntermittentRepetitions),
        (new(8, 1, 8, 8, 8, 3), IntermittentRepetitions),
        (new(16, 16, 16, 14, 14, 3, Padding: 1), 1),
        (new(16, 32, 32, 14, 14, 3, Padding: 1), 1),
    ];
    /// <summary>
    /// The requested mode: set it before the first network runs (setting it again re-decides), or
    /// leave it to <c>MORPHISM_ONEDNN</c> (default <c>auto</c>). libtorch's switches are process-wide:
    /// never change this while another thread trains.
    /// </summary>
    public static OneDnnMode Mode
    {
        get
        {
            lock (Gate)
                return _mode ??= ModeFromEnvironment();
        }
        set
        {
            lock (Gate)
            {
                _mode = value;
                ForgetDecision(keepPath: false);
            }
        }
    }

    /// <summary>The decision in force, or null before the first check.</summary>
    public static NumericsVerdict? Verdict => _verdict;

    /// <summary>The path float32 CPU convolutions take now.</summary>
    public static ConvolutionPath Path => _path;

    /// <summary>Checks every convolution of <paramref name="network"/> (float32, CPU) once, deciding the process's path first if needed.</summary>
    public static NumericsVerdict EnsureVerified(NetworkDescription network)
    {
        ArgumentNullException.ThrowIfNull(network);
        return EnsureVerified(ConvolutionsOf(network));
    }

    /// <summary>Checks the given convolutions (batch sizes are ignored; see <see cref="NetworkCheckBatches"/>).</summary>
    public static NumericsVerdict EnsureVerified(IEnumerable<(string Layer, ConvolutionShape Shape)> convolutions)
    {
        var list = convolutions.Select(c => (c.Layer, Shape: c.Shape.WithBatch(0))).ToList();
        lock (Gate)
        {
            if (_unchecked)
                return _verdict!;
            var key = NumericsKey.Current(Mode);
            if (_verdict is null || _key != key)
                Decide(key);
            bool added = false;
            foreach (var (layer, shape) in list)
            {
                if (Verified.Contains(shape))
                    continue;
                SeenShapes.Add((layer, shape));
                VerifyShape(layer, shape);
                added = true;
            }
            if (added)
                Store();
            return _verdict!;
        }
    }

    /// <summary>The conv shapes (batch 0) of a network: its conv layers and its image skip projections.</summary>
    public static IEnumerable<(string Layer, ConvolutionShape Shape)> ConvolutionsOf(NetworkDescription network)
    {
        foreach (var layer in network.AllLayers())
        {
            var input = network.Shapes[layer.Name].Input;
            if (layer is Conv2dLayer conv)
                yield return (conv.Name, new ConvolutionShape(0, input.Channels, conv.OutChannels, input.Height, input.Width,
                    conv.KernelSize, conv.Stride, conv.Padding, conv.Dilation, conv.Groups));
            else if (layer is SkipLayer skip && input.IsImage)
            {
                var source = skip.From == SkipLayer.NetworkInput ? network.Input : network.Shapes[skip.From].Output;
                yield return (skip.Name, new ConvolutionShape(0, source.Channels, input.Channels, source.Height, source.Width, 1));
            }
        }
    }

    /// <summary>
    /// The padding a float32 CPU convolution of <paramref name="shape"/> (batch 0) runs with now, or
    /// null to run it as it is. Read on every forward pass; lock-free.
    /// </summary>
    public static ChannelPadding? PaddingFor(ConvolutionShape shape)
    {
        if (_path != ConvolutionPath.Padded)
            return null;
        if (Paddings.TryGetValue(shape, out var padding))
            return padding.IsIdentityFor(shape) ? null : padding;
        // Not checked (a module built without EnsureVerified): the full padding, which every check so far has passed.
        var full = ChannelPadding.Candidates(shape).Last();
        return full.IsIdentityFor(shape) ? null : full;
    }

    /// <summary>The message of the last decision or escalation not yet reported to a host log (returned once), else null.</summary>
    public static string? TakeReport()
    {
        lock (Gate)
        {
            var report = _pendingReport;
            _pendingReport = null;
            return report;
        }
    }

    /// <summary>For tests: forgets every decision, re-enables oneDNN, and sets the cache folder (null: memory only) and mode.</summary>
    internal static void Reset(string? cacheDirectory, OneDnnMode? mode = null)
    {
        lock (Gate)
        {
            _cache = new NumericsVerdictCache(cacheDirectory);
            _mode = mode;
            ForgetDecision(keepPath: false);
        }
    }

    /// <summary>
    /// For the benchmarks only: runs <paramref name="path"/> without any check (on an affected CPU
    /// the Native path computes wrong numbers), to time the unprotected path against the protected ones.
    /// The disk cache is not touched; <see cref="Mode"/>'s setter or <see cref="Reset"/> ends it.
    /// </summary>
    internal static void UseUnchecked(ConvolutionPath path)
    {
        lock (Gate)
        {
            ForgetDecision(keepPath: false);
            SetPath(path);
            _key = NumericsKey.Current(Mode);
            _verdict = new NumericsVerdict(path, $"{path} without the self-check (benchmark)", TimeSpan.Zero, FromCache: false);
            _unchecked = true;
        }
    }

    /// <summary>For tests: the default cache folder again.</summary>
    internal static void ResetToDefaults() => Reset(NumericsVerdictCache.DefaultDirectory);

    private static void ForgetDecision(bool keepPath)
    {
        _unchecked = false;
        _verdict = null;
        _key = null;
        Verified.Clear();
        SeenShapes.Clear();
        _pendingReport = null;
        if (!keepPath)
        {
            // Paddings stay across keys on one path, so modules running in other threads keep theirs.
            Paddings.Clear();
            if (_path == ConvolutionPath.OneDnnOff)
                LibTorchSwitches.TrySetOneDnn(true);
            _path = ConvolutionPath.Native;
        }
    }

    private static OneDnnMode ModeFromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(ModeVariable);
        if (string.IsNullOrWhiteSpace(value))
            return OneDnnMode.Auto;
        return Enum.TryParse<OneDnnMode>(value.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode)
            ? mode
            : throw new ConvolutionNumericsException($"{ModeVariable}='{value}' is not valid; use auto, on, pad or off.");
    }

    private static void Decide(NumericsKey key)
    {
        if (!_nnpackHandled)
        {
            _nnpackHandled = true;
            LibTorchSwitches.TrySetNnpack(false);
        }
        var previousPath = _verdict is null ? (ConvolutionPath?)null : _path;
        ForgetDecision(keepPath: true);
        _key = key;
        if (_cache.Read(key) is { } cached && (previousPath is null || cached.Path >= previousPath))
        {
            SetPath(cached.Path);
            foreach (var shape in cached.Shapes.Where(s => s.IsValid))
            {
                Verified.Add(shape.Shape);
                if (shape.Padding is { } padding)
                    Paddings[shape.Shape] = padding;
            }
            Publish(new NumericsVerdict(cached.Path, cached.Reason, TimeSpan.Zero, FromCache: true));
            return;
        }

        var clock = Stopwatch.StartNew();
        string? firstFault = null;
        foreach (var path in Allowed(key.Mode, previousPath))
        {
            var fault = CheckCanaries(path);
            if (fault is null)
            {
                Publish(new NumericsVerdict(path, Explain(key, path, firstFault, clock.Elapsed), clock.Elapsed, FromCache: false));
                Store();
                return;
            }
            firstFault ??= $"{path}: canary {fault}";
        }
        throw new ConvolutionNumericsException(
            $"The numerics self-check found no correct way to run float32 convolutions on this machine ({key.Describe()}, mode {key.Mode}): {firstFault}. " +
            (key.Mode == OneDnnMode.Auto ? "Run in float64 or on another machine." : $"Set {ModeVariable}=auto to let the check choose a workaround."));
    }

    private static IEnumerable<ConvolutionPath> Allowed(OneDnnMode mode, ConvolutionPath? atLeast)
    {
        IEnumerable<ConvolutionPath> paths = mode switch
        {
            OneDnnMode.On => [ConvolutionPath.Native],
            OneDnnMode.Pad => [ConvolutionPath.Padded],
            OneDnnMode.Off => [ConvolutionPath.OneDnnOff],
            _ => [ConvolutionPath.Native, ConvolutionPath.Padded, ConvolutionPath.OneDnnOff],
        };
        return paths.Where(p => atLeast is null || p >= atLeast);
    }

    /// <summary>Runs every canary on <paramref name="path"/>; the first failure as text, or null when all pass.</summary>
    private static string? CheckCanaries(ConvolutionPath path)
    {
        // Forwards in other threads read the live path: it changes only when a verdict is published.
        // Only trying "oneDNN off" touches libtorch's switch, and a process never moves back below it.
        if (path == ConvolutionPath.OneDnnOff)
            LibTorchSwitches.TrySetOneDnn(false);
        try
        {
            foreach (var (shape, repetitions) in Canaries)
            {
                if (TryShape(shape, repetitions, path, out _, out var errors) is false)
                    return $"{shape} ({errors})";
            }
            return null;
        }
        finally
        {
            if (path == ConvolutionPath.OneDnnOff && _path != ConvolutionPath.OneDnnOff)
                LibTorchSwitches.TrySetOneDnn(true);
        }
    }

    /// <summary>Checks one network shape on the current path, moving the process up a path if it fails there.</summary>
    /// <summary>Per-image forward MACs and input + output values up to which a shape is checked as it is.</summary>
    internal const double MaxCheckMacs = 5e7, MaxCheckValues = 1 << 18;

    /// <summary>
    /// What a shape's check runs on. A shape cheap to check is checked as it is. A larger one (big images, or a forged
    /// model's padding of thousands) is checked on a crop with the same channels, kernel, stride, dilation and groups:
    /// at most 16 positions beyond the kernel's extent each way and no more padding than the extent needs, since a
    /// check at full size cost minutes (8 repetitions at batches 1 and 8, forward and both gradients, float32 and
    /// float64). A shape whose crop is still too costly is not checked one by one: null, and it runs with the full
    /// channel padding, which every check so far has passed (<see cref="PaddingFor"/>).
    /// </summary>
    internal static ConvolutionShape? CheckedAs(ConvolutionShape shape)
    {
        static (double Macs, double Values) Cost(ConvolutionShape s)
        {
            double extent = (double)s.Dilation * (s.KernelSize - 1) + 1;
            double outH = Math.Floor((s.Height + 2.0 * s.Padding - extent) / s.Stride) + 1, outW = Math.Floor((s.Width + 2.0 * s.Padding - extent) / s.Stride) + 1;
            return ((double)s.OutChannels * s.InPerGroup * s.KernelSize * s.KernelSize * outH * outW,
                (double)s.InChannels * s.Height * s.Width + (double)s.OutChannels * outH * outW);
        }
        static bool Cheap(ConvolutionShape s) => Cost(s) is var c && c.Macs <= MaxCheckMacs && c.Values <= MaxCheckValues;
        if (Cheap(shape))
            return shape;
        int reach = (int)Math.Min(int.MaxValue, (long)shape.Dilation * (shape.KernelSize - 1));
        var crop = shape with
        {
            Height = (int)Math.Min(shape.Height, 16L + reach + 1),
            Width = (int)Math.Min(shape.Width, 16L + reach + 1),
            Padding = Math.Min(shape.Padding, reach),
        };
        return Cheap(crop) ? crop : null;
    }

    private static void VerifyShape(string layer, ConvolutionShape shape)
    {
        while (true)
        {
            bool pass = true;
            ConvolutionErrors errors = default;
            ChannelPadding? chosen = null;
            if (CheckedAs(shape) is not { } checkedAs)
            {
                Verified.Add(shape);
                return;
            }
            foreach (int batch in NetworkCheckBatches)
            {
                if (!TryShape(checkedAs.WithBatch(batch), IntermittentRepetitions, _path, out chosen, out errors))
                {
                    pass = false;
                    break;
                }
            }
            if (pass)
            {
                if (chosen is { } p)
                    Paddings[shape] = p;
                Verified.Add(shape);
                return;
            }
            var next = Allowed(_key!.Mode, _path).FirstOrDefault(p => p > _path, _path);
            if (next == _path)
            {
                throw new ConvolutionNumericsException(
                    $"Layer '{layer}': its float32 convolution ({shape}) is computed wrong on this machine ({_key.Describe()}) on every path allowed " +
                    $"(mode {_key.Mode}, last tried {_path}: {errors}). " +
                    (_key.Mode == OneDnnMode.Auto ? "Run in float64 or on another machine." : $"Set {ModeVariable}=auto to let the check choose a workaround."));
            }
            var fault = CheckCanaries(next);
            if (fault is not null)
            {
                throw new ConvolutionNumericsException($"Layer '{layer}': its convolution ({shape}) failed on {_path} and the canaries fail on {next}: {fault}.");
            }
            var verdict = new NumericsVerdict(next,
                $"{Explain(_key, next, $"layer '{layer}' ({shape}) failed on {_path}: {errors}", TimeSpan.Zero)}", TimeSpan.Zero, FromCache: false);
            var earlier = SeenShapes.Where(s => s.Shape != shape).ToList();
            Verified.Clear();
            Paddings.Clear();
            Publish(verdict);
            foreach (var (otherLayer, other) in earlier)
                VerifyShape(otherLayer, other);
        }
    }

    /// <summary>
    /// Tries a shape on the current path: as it is (Native, OneDnnOff), or through the padding
    /// candidates cheapest first (Padded). Returns whether it passed and which padding it used.
    /// </summary>
    private static bool TryShape(ConvolutionShape shape, int repetitions, ConvolutionPath path, out ChannelPadding? padding, out ConvolutionErrors errors)
    {
        padding = null;
        if (path != ConvolutionPath.Padded)
        {
            errors = ConvolutionCheck.Run(shape, null, repetitions);
            return errors.Pass;
        }
        errors = default;
        foreach (var candidate in ChannelPadding.Candidates(shape))
        {
            errors = ConvolutionCheck.Run(shape, candidate.IsIdentityFor(shape) ? null : candidate, repetitions);
            if (errors.Pass)
            {
                padding = candidate;
                return true;
            }
        }
        return false;
    }

    private static void SetPath(ConvolutionPath path)
    {
        bool oneDnn = path != ConvolutionPath.OneDnnOff;
        if (!LibTorchSwitches.TrySetOneDnn(oneDnn) && !oneDnn)
            Debug.WriteLine($"Microsoft.ML.Morphism: cannot switch oneDNN off ({LibTorchSwitches.Unavailable}); the check will refuse that path if it computes wrong.");
        _path = path;
    }

    private static void Publish(NumericsVerdict verdict)
    {
        SetPath(verdict.Path);
        _verdict = verdict;
        Trace.WriteLine($"Microsoft.ML.Morphism numerics: {verdict.Reason}");
        _pendingReport = verdict.Reason; // reported to a host's log once (TakeReport)
    }

    private static string Explain(NumericsKey key, ConvolutionPath path, string? fault, TimeSpan elapsed)
    {
        var checkedIn = elapsed > TimeSpan.Zero ? $" (self-check {elapsed.TotalSeconds:F2} s)" : "";
        var what = path switch
        {
            ConvolutionPath.Native => "float32 convolutions match float64; oneDNN stays on",
            ConvolutionPath.Padded => "convolutions whose channel counts are not multiples of 16 now run with zero channels added (exact); oneDNN stays on",
            _ => "oneDNN is switched off for this process (slower convolutions)",
        };
        return fault is null
            ? $"Numerics self-check on {key.Describe()}: {what}{checkedIn}."
            : $"Numerics self-check on {key.Describe()}: libtorch computes wrong float32 convolutions here ({fault}); {what}{checkedIn}.";
    }

    private static void Store()
    {
        if (_key is null || _verdict is null)
            return;
        _cache.Write(_key, new NumericsVerdictCache.Entry(_key.ToString(), _path, _verdict.Reason,
            [.. Verified.Select(s => new NumericsVerdictCache.CheckedShape(s, Paddings.TryGetValue(s, out var p) ? p : null))]));
    }
}
