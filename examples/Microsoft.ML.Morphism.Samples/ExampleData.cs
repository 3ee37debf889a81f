// What the examples train on: the committed Fashion-MNIST subset's location, class folders as rows, and smaller samples of them.
using System.Reflection;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>
/// Finds the Fashion-MNIST subset committed at <c>examples/data/fashion-mnist</c> for an example, lists a
/// folder of class folders as labelled rows, and takes the first images of each class for short runs.
/// </summary>
public static class ExampleData
{
    /// <summary>
    /// The key of the <see cref="AssemblyMetadataAttribute"/> in which an example's project file records the
    /// subset's absolute path at build time, so the example finds it from any working folder.
    /// </summary>
    public const string SubsetFolderMetadataKey = "FashionMnistSubsetFolder";

    /// <summary>The committed subset's folder, as recorded in <paramref name="assembly"/>'s metadata (the entry assembly when null).</summary>
    /// <exception cref="DirectoryNotFoundException">The assembly records no folder, or the folder it records no longer exists.</exception>
    public static string SubsetFolder(Assembly? assembly = null)
    {
        assembly ??= Assembly.GetEntryAssembly();
        var recorded = assembly?.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == SubsetFolderMetadataKey)?.Value;
        if (string.IsNullOrEmpty(recorded))
            throw new DirectoryNotFoundException(
                $"This program does not know where the Fashion-MNIST subset is; pass --data <folder> (the repository's {FashionMnistSubset.DefaultOutputFolder}).");
        if (!Directory.Exists(recorded))
            throw new DirectoryNotFoundException(
                $"The Fashion-MNIST subset folder '{recorded}' recorded at build time does not exist any more; pass --data <folder>.");
        return Path.TrimEndingDirectorySeparator(recorded);
    }

    /// <summary>
    /// Every image of a folder laid out <c>&lt;folder&gt;/&lt;class&gt;/&lt;image&gt;</c> (e.g. the subset's <c>train</c>
    /// folder), with its class folder's name as the label, in <see cref="ImageFolder.Enumerate"/>'s order.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The folder has no class folders, or a class folder has no images.</exception>
    public static IReadOnlyList<ImageFolderRow> ClassFolderRows(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (!Directory.Exists(full))
            throw new DirectoryNotFoundException($"Image folder '{full}' does not exist; expected '{Path.Combine(full, "<class>", "<image file>")}'.");
        // ImageFolder lists <root>/<split>/<class>: the folder is a "split" of its parent.
        var parent = Path.GetDirectoryName(full)
            ?? throw new DirectoryNotFoundException($"Image folder '{full}' is a file-system root; put the class folders in a folder of their own.");
        return ImageFolder.Enumerate(parent, Path.GetFileName(full));
    }

    /// <summary>
    /// The first <paramref name="perClass"/> rows of each label, keeping the rows' order; all rows when
    /// <paramref name="perClass"/> is null. Lets an example run on a few images of every class.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="perClass"/> is below 1.</exception>
    public static IReadOnlyList<ImageFolderRow> TakePerClass(IEnumerable<ImageFolderRow> rows, int? perClass)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (perClass is null)
            return [.. rows];
        ArgumentOutOfRangeException.ThrowIfLessThan(perClass.Value, 1, nameof(perClass));
        var taken = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<ImageFolderRow>();
        foreach (var row in rows)
        {
            var count = taken.GetValueOrDefault(row.Label);
            if (count >= perClass)
                continue;
            taken[row.Label] = count + 1;
            result.Add(row);
        }
        return result;
    }
}
