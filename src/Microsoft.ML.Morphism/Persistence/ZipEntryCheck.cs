// Refuses a model .zip that holds two entries of one name, which ML.NET's reader would resolve silently (the last wins).
using System.IO.Compression;
using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Persistence;

/// <summary>
/// ML.NET's <see cref="RepositoryReader"/> maps every entry of the zip's central directory by name, so of two entries
/// with one name the last is read and the first is never looked at: a file can show one thing to a zip tool and
/// another to ML.NET. The reader keeps its archive private; this reads the archive's entry list (parsed once, when
/// ML.NET opened the file) and refuses a duplicate, naming it.
/// </summary>
internal static class ZipEntryCheck
{
    // ML.NET 6.0.0's private field (the version is pinned exactly; a test fails if the field goes away).
    private static readonly FieldInfo? ArchiveField = typeof(RepositoryReader).GetField("_archive", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>True when the check can see the archive of ML.NET's reader.</summary>
    internal static bool Available => ArchiveField?.FieldType == typeof(ZipArchive);

    private static ZipArchive? ArchiveOf(RepositoryReader? repository) =>
        repository is not null && Available ? ArchiveField!.GetValue(repository) as ZipArchive : null;

    /// <summary>
    /// Refuses a part whose zip entry declares more bytes than the part may hold (<see cref="ModelPart.MaxBytes"/> plus its
    /// envelope), before ML.NET extracts it: ML.NET inflates a whole entry to a temp file before any reader sees it, and
    /// .NET's zip reader stops at the declared size, so checking the declaration bounds that extraction (a forged smaller
    /// declaration only truncates the part, which its envelope then rejects).
    /// </summary>
    public static void RefuseOversizedParts(RepositoryReader? repository, string? directory, IEnumerable<string> parts)
    {
        if (ArchiveOf(repository) is not { } archive)
            return;
        var prefix = string.IsNullOrEmpty(directory) ? "" : directory.Replace('\\', '/').TrimEnd('/') + "/";
        var wanted = parts.ToDictionary(p => prefix + p, p => p, StringComparer.Ordinal);
        foreach (var entry in archive.Entries)
        {
            if (!wanted.TryGetValue(entry.FullName.Replace('\\', '/'), out var part))
                continue;
            long limit = ModelPart.MaxBytes(part) + ModelPart.EnvelopeBytes;
            if (entry.Length > limit)
                throw ModelPart.Corrupt(part, $"its zip entry declares {entry.Length} bytes; a '{part}' part holds at most {limit:N0} with its envelope");
        }
    }

    /// <summary>Throws <see cref="InvalidDataException"/> naming the first entry name that occurs twice in <paramref name="repository"/>.</summary>
    public static void RefuseDuplicates(RepositoryReader? repository)
    {
        if (ArchiveOf(repository) is not { } archive)
            return;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in archive.Entries)
        {
            // ML.NET reads '\' and '/' alike.
            var name = entry.FullName.Replace('\\', '/');
            if (!names.Add(name))
                throw new InvalidDataException($"The model file holds two zip entries named '{name}'; ML.NET would read only the last. The file is damaged or forged.");
        }
    }
}
