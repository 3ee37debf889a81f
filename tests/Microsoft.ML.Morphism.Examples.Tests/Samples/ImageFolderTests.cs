// Specifies ImageFolder: which rows a <root>/<split>/<class>/<file> folder gives, in which order, and which folders it refuses.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class ImageFolderTests
{
    [Fact]
    public void RowsAreOrderedByClassThenFileNameOrdinally()
    {
        using var dir = new TempDirectory();
        // Ordinal order puts upper case before lower case and "10" before "9", whatever the culture.
        Touch(dir, "train/b/9.png", "train/b/10.png", "train/a/x.png", "train/B/y.png");

        var rows = ImageFolder.Enumerate(dir.Path, "train");

        Assert.Equal(
            [("B", "y.png"), ("a", "x.png"), ("b", "10.png"), ("b", "9.png")],
            rows.Select(r => (r.Label, Path.GetFileName(r.ImagePath))));
    }

    [Fact]
    public void ImagePathsAreAbsoluteEvenForARelativeRoot()
    {
        using var dir = new TempDirectory();
        Touch(dir, "test/Bag/1.png");
        var relativeRoot = Path.GetRelativePath(Environment.CurrentDirectory, dir.Path);

        var row = Assert.Single(ImageFolder.Enumerate(relativeRoot, "test"));

        Assert.True(Path.IsPathFullyQualified(row.ImagePath), row.ImagePath);
        Assert.Equal(Path.Combine(dir.Path, "test", "Bag", "1.png"), row.ImagePath);
    }

    [Fact]
    public void OnlyImageFilesAreListedWhateverTheCaseOfTheirExtension()
    {
        using var dir = new TempDirectory();
        Touch(dir, "train/Coat/a.PNG", "train/Coat/b.jpg", "train/Coat/c.jpeg", "train/Coat/d.bmp", "train/Coat/notes.txt", "train/Coat/.hidden");

        var files = ImageFolder.Enumerate(dir.Path, "train").Select(r => Path.GetFileName(r.ImagePath));

        Assert.Equal(["a.PNG", "b.jpg", "c.jpeg", "d.bmp"], files);
    }

    [Fact]
    public void ClassesAreTheClassFolderNamesInOrdinalOrder()
    {
        using var dir = new TempDirectory();
        Touch(dir, "train/Sneaker/1.png", "train/Bag/1.png", "train/Ankle_boot/1.png");

        Assert.Equal(["Ankle_boot", "Bag", "Sneaker"], ImageFolder.Classes(dir.Path, "train"));
    }

    [Fact]
    public void MissingRootIsReportedByName()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-image-folder-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Enumerate(missing, "train"));

        Assert.Contains($"Image folder root '{missing}' does not exist", e.Message);
    }

    [Fact]
    public void MissingSplitFolderIsReportedWithTheExpectedLayout()
    {
        using var dir = new TempDirectory();
        Touch(dir, "train/Bag/1.png");

        var e = Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Enumerate(dir.Path, "validation"));

        Assert.Contains("has no 'validation' folder", e.Message);
        Assert.Contains(Path.Combine("validation", "<class>", "<image file>"), e.Message);
    }

    [Fact]
    public void SplitWithoutClassFoldersIsRejected()
    {
        using var dir = new TempDirectory();
        Touch(dir, "train/loose-image.png");

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Enumerate(dir.Path, "train"));

        Assert.Contains("has no class folders", e.Message);
    }

    [Fact]
    public void ClassFolderWithoutImagesIsRejectedByName()
    {
        using var dir = new TempDirectory();
        Touch(dir, "train/Bag/1.png", "train/Coat/readme.txt");

        var e = Assert.Throws<InvalidDataException>(() => ImageFolder.Enumerate(dir.Path, "train"));

        Assert.Contains($"Class folder '{Path.Combine(dir.Path, "train", "Coat")}' has no images", e.Message);
    }

    private static void Touch(TempDirectory dir, params string[] relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            var path = dir.File(relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, []);
        }
    }
}
