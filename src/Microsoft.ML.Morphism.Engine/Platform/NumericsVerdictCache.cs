// The numerics verdicts on disk, one small JSON file per key in the user's cache folder, so every process on a key takes the same path.
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>
/// Reads and writes <c>numerics-{digest}.json</c> under <see cref="DefaultDirectory"/> (override with
/// <c>MORPHISM_CACHE_DIR</c>; <c>none</c> keeps verdicts in memory only). A missing, unreadable or
/// foreign file is ignored (the check runs again); writes go through a temp file and a rename.
/// </summary>
internal sealed class NumericsVerdictCache(string? directory)
{
    private const long MaxFileBytes = 1 << 20;
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The environment variable that moves (or, with <c>none</c>, disables) the cache.</summary>
    public const string DirectoryVariable = "MORPHISM_CACHE_DIR";

    /// <summary>The stored form of a verdict.</summary>
    public sealed record Entry(string Key, ConvolutionPath Path, string Reason, List<CheckedShape> Shapes);

    /// <summary>A network conv shape (batch 0) that passed on the entry's path, with the padding it passed with.</summary>
    public sealed record CheckedShape(ConvolutionShape Shape, ChannelPadding? Padding)
    {
        /// <summary>False for values no network could have (a damaged or edited file).</summary>
        [JsonIgnore]
        public bool IsValid => Shape is { Batch: 0, InChannels: > 0, OutChannels: > 0, Height: > 0, Width: > 0, KernelSize: > 0, Stride: > 0, Padding: >= 0, Dilation: > 0, Groups: > 0 }
            && Shape.InChannels % Shape.Groups == 0 && Shape.OutChannels % Shape.Groups == 0
            && (Padding is not { } p || (p.InPerGroup >= Shape.InPerGroup && p.OutPerGroup >= Shape.OutPerGroup && p.InPerGroup <= 1 << 16 && p.OutPerGroup <= 1 << 16));
    }

    /// <summary>The folder from the environment, else $XDG_CACHE_HOME or ~/.cache (LocalApplicationData on Windows), plus Microsoft.ML.Morphism.</summary>
    public static string? DefaultDirectory
    {
        get
        {
            var configured = Environment.GetEnvironmentVariable(DirectoryVariable);
            if (!string.IsNullOrWhiteSpace(configured))
                return configured.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? null : configured;
            string? root = OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
                : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home ? Path.Combine(home, ".cache") : null;
            return root is null ? null : Path.Combine(root, "Microsoft.ML.Morphism");
        }
    }

    public string? Directory { get; } = directory;

    public Entry? Read(NumericsKey key)
    {
        if (Directory is null)
            return null;
        var path = FileFor(key);
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > MaxFileBytes)
                return null;
            var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllBytes(path));
            return entry is not null && entry.Key == key.ToString() && Enum.IsDefined(entry.Path) ? entry : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            Debug.WriteLine($"Microsoft.ML.Morphism: ignoring the numerics cache {path}: {e.Message}");
            return null;
        }
    }

    public void Write(NumericsKey key, Entry entry)
    {
        if (Directory is null)
            return;
        var path = FileFor(key);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(entry, Indented));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Debug.WriteLine($"Microsoft.ML.Morphism: could not write the numerics cache {path}: {e.Message}");
            try { File.Delete(temp); } catch (Exception d) when (d is IOException or UnauthorizedAccessException) { }
        }
    }

    private string FileFor(NumericsKey key) => Path.Combine(Directory!, $"numerics-{key.Digest}.json");
}
