// Lists a Model Builder style image folder (<root>/<split>/<class>/<file>) as labelled rows, in a fixed order.
namespace Microsoft.ML.Morphism.Samples;

/// <summary>One image of an image folder: where it is, and the class it belongs to.</summary>
/// <param name="ImagePath">The absolute path of the image file.</param>
/// <param name="Label">The class: the name of the folder holding the image.</param>
public sealed record ImageFolderRow(string ImagePath, string Label);

/// <summary>
/// Enumerates image folders laid out as Model Builder and ML.NET's image classification samples expect:
/// <c>&lt;root&gt;/&lt;split&gt;/&lt;class&gt;/&lt;file&gt;</c>, where the class folder's name is the label.
/// </summary>
/// <remarks>
/// Classes and files are sorted by ordinal (culture-independent, case-sensitive) name, so every machine
/// sees the same rows in the same order and a seeded shuffle or split is reproducible. Only image files
/// (<see cref="ImageExtensions"/>, any letter case) are listed; other files such as a README are skipped.
/// </remarks>
public static class ImageFolder
{
    /// <summary>The file extensions listed as images (what ML.NET's image loader decodes).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>The class folders of <c>&lt;root&gt;/&lt;split&gt;</c>, in ordinal order.</summary>
    /// <param name="root">The image folder root, holding one folder per split (e.g. <c>train</c>, <c>test</c>).</param>
    /// <param name="split">The split to list, e.g. <c>train</c>.</param>
    /// <exception cref="DirectoryNotFoundException">The root or the split folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The split folder has no class folders.</exception>
    public static IReadOnlyList<string> Classes(string root, string split)
    {
        var splitFolder = SplitFolder(root, split);
        var classes = Directory.GetDirectories(splitFolder)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (classes.Length == 0)
            throw new InvalidDataException(
                $"Image folder '{splitFolder}' has no class folders; expected one folder per class, each holding that class's images.");
        return classes;
    }

    /// <summary>
    /// Every image of <c>&lt;root&gt;/&lt;split&gt;</c> with its class, ordered by class folder name, then file name (both ordinal).
    /// </summary>
    /// <param name="root">The image folder root, holding one folder per split (e.g. <c>train</c>, <c>test</c>).</param>
    /// <param name="split">The split to list, e.g. <c>train</c>.</param>
    /// <returns>The rows; <see cref="ImageFolderRow.ImagePath"/> is absolute.</returns>
    /// <exception cref="DirectoryNotFoundException">The root or the split folder does not exist.</exception>
    /// <exception cref="InvalidDataException">The split folder has no class folders, or a class folder has no images.</exception>
    public static IReadOnlyList<ImageFolderRow> Enumerate(string root, string split)
    {
        var splitFolder = SplitFolder(root, split);
        var rows = new List<ImageFolderRow>();
        foreach (var label in Classes(root, split))
        {
            var classFolder = Path.Combine(splitFolder, label);
            var images = Directory.GetFiles(classFolder)
                .Where(IsImage)
                .Order(StringComparer.Ordinal)
                .ToArray();
            // An empty class would silently vanish from training and from the label set; say so instead.
            if (images.Length == 0)
                throw new InvalidDataException(
                    $"Class folder '{classFolder}' has no images ({string.Join(", ", ImageExtensions)}).");
            rows.AddRange(images.Select(path => new ImageFolderRow(path, label)));
        }
        return rows;
    }

    private static string SplitFolder(string root, string split)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentException.ThrowIfNullOrEmpty(split);
        var fullRoot = Path.GetFullPath(root);
        if (!Directory.Exists(fullRoot))
            throw new DirectoryNotFoundException($"Image folder root '{fullRoot}' does not exist.");
        var splitFolder = Path.Combine(fullRoot, split);
        if (!Directory.Exists(splitFolder))
            throw new DirectoryNotFoundException(
                $"Image folder '{fullRoot}' has no '{split}' folder; expected '{Path.Combine(fullRoot, split, "<class>", "<image file>")}'.");
        return splitFolder;
    }

    private static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);
}
