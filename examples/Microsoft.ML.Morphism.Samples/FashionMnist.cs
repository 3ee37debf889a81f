// Fashion-MNIST's class names, their folder-safe forms, and loading its IDX files from a folder.
namespace Microsoft.ML.Morphism.Samples;

/// <summary>Which of Fashion-MNIST's two published parts to load.</summary>
public enum FashionMnistSplit
{
    /// <summary>The 60,000 training images (<c>train-*-ubyte</c>).</summary>
    Train,

    /// <summary>The 10,000 test images (<c>t10k-*-ubyte</c>).</summary>
    Test,
}

/// <summary>Images and their class indices, one label per image, in file order.</summary>
/// <param name="Images">The images.</param>
/// <param name="Labels">The class index of each image; <c>Labels[i]</c> belongs to image <c>i</c>.</param>
public sealed record LabeledImages(IdxImages Images, byte[] Labels);

/// <summary>
/// Fashion-MNIST (Zalando Research, MIT licence): 28x28 grayscale images of clothing in 10 classes.
/// Names the classes, maps them to folder names that are safe on every file system, and loads the
/// IDX files from a folder.
/// </summary>
/// <remarks>
/// Two official names cannot be folder names as they are ("T-shirt/top" holds a path separator,
/// "Ankle boot" a space that breaks naive command lines), so image folders and labels written by the
/// examples use <see cref="FolderNames"/>, and <see cref="ClassNameOfFolder"/> turns them back.
/// </remarks>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package puts the IDX files; the examples' default for <c>--data</c>.</summary>
    public const string DefaultDataFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The number of classes.</summary>
    public const int ClassCount = 10;

    /// <summary>The height and width of every image, in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>The official class names, indexed by label (as published by Zalando Research).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Folder-safe class names (letters, digits, '-' and '_' only), indexed by label.</summary>
    public static IReadOnlyList<string> FolderNames { get; } =
        ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"];

    /// <summary>The official name of class <paramref name="label"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="label"/> is not in [0, 10).</exception>
    public static string ClassName(int label) => ClassNames[CheckLabel(label)];

    /// <summary>The folder-safe name of class <paramref name="label"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="label"/> is not in [0, 10).</exception>
    public static string FolderName(int label) => FolderNames[CheckLabel(label)];

    /// <summary>The label of the class whose folder-safe name is <paramref name="folderName"/> (exact, case-sensitive match).</summary>
    /// <exception cref="ArgumentException">No class has that folder name.</exception>
    public static int LabelOfFolder(string folderName) => IndexOf(FolderNames, folderName, "folder name", nameof(folderName));

    /// <summary>The label of the class whose official name is <paramref name="className"/> (exact, case-sensitive match).</summary>
    /// <exception cref="ArgumentException">No class has that name.</exception>
    public static int LabelOfClassName(string className) => IndexOf(ClassNames, className, "class name", nameof(className));

    /// <summary>The official class name for a folder-safe name, e.g. <c>T-shirt_top</c> gives <c>T-shirt/top</c>.</summary>
    /// <exception cref="ArgumentException">No class has that folder name.</exception>
    public static string ClassNameOfFolder(string folderName) => ClassNames[LabelOfFolder(folderName)];

    /// <summary>
    /// The path of one IDX file of <paramref name="split"/> in <paramref name="dataFolder"/>: the gzip-compressed
    /// file as published (<c>train-images-idx3-ubyte.gz</c>), or else a decompressed copy without <c>.gz</c>.
    /// </summary>
    /// <param name="dataFolder">The folder holding the IDX files.</param>
    /// <param name="split">Training or test part.</param>
    /// <param name="images"><see langword="true"/> for the images file, <see langword="false"/> for the labels file.</param>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">Neither form of the file is in the folder.</exception>
    public static string IdxFilePath(string dataFolder, FashionMnistSplit split, bool images)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataFolder);
        if (!Directory.Exists(dataFolder))
            throw new DirectoryNotFoundException(
                $"Fashion-MNIST data folder '{dataFolder}' does not exist. Install the IDX files with "
                + $"'apt-get install dataset-fashion-mnist' (they go to {DefaultDataFolder}) or point --data at a folder holding them.");
        var prefix = split == FashionMnistSplit.Train ? "train" : "t10k";
        var name = images ? $"{prefix}-images-idx3-ubyte" : $"{prefix}-labels-idx1-ubyte";
        var compressed = Path.Combine(dataFolder, name + ".gz");
        if (File.Exists(compressed))
            return compressed;
        var plain = Path.Combine(dataFolder, name);
        if (File.Exists(plain))
            return plain;
        throw new FileNotFoundException(
            $"Fashion-MNIST data folder '{dataFolder}' has neither '{name}.gz' nor '{name}'.", compressed);
    }

    /// <summary>Loads the images and labels of <paramref name="split"/> from the IDX files in <paramref name="dataFolder"/>.</summary>
    /// <param name="split">Training (60,000 images) or test (10,000 images) part.</param>
    /// <param name="dataFolder">The folder holding the IDX files; <see cref="DefaultDataFolder"/> when <see langword="null"/>.</param>
    /// <returns>The images and one label in [0, 10) per image, in file order.</returns>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">An IDX file is missing.</exception>
    /// <exception cref="InvalidDataException">An IDX file is invalid, or the two files disagree on the number of images.</exception>
    public static LabeledImages Load(FashionMnistSplit split, string? dataFolder = null)
    {
        dataFolder ??= DefaultDataFolder;
        var imagesPath = IdxFilePath(dataFolder, split, images: true);
        var labelsPath = IdxFilePath(dataFolder, split, images: false);
        var images = IdxReader.ReadImages(imagesPath);
        var labels = IdxReader.ReadLabels(labelsPath, ClassCount);
        if (images.Count != labels.Length)
            throw new InvalidDataException(
                $"IDX images file '{imagesPath}' holds {images.Count} images but labels file '{labelsPath}' holds {labels.Length} labels; "
                + "the two files of a split must have one label per image.");
        return new LabeledImages(images, labels);
    }

    private static int CheckLabel(int label)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(label);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(label, ClassCount);
        return label;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name, string what, string parameterName)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
                return i;
        }
        throw new ArgumentException($"'{name}' is not a Fashion-MNIST {what}; known: {string.Join(", ", names)}.", parameterName);
    }
}
