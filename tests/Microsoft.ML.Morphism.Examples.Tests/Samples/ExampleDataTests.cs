// Specifies ExampleData: where the examples find the committed subset, how a folder of class folders becomes rows, and per-class samples.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class ExampleDataTests
{
    [Fact]
    public void SubsetFolderIsTheOneTheAssemblyRecordedAtBuildTime()
    {
        // The test project records the subset under the same metadata key as the examples do.
        var folder = ExampleData.SubsetFolder(typeof(ExampleDataTests).Assembly);

        Assert.Equal(Path.TrimEndingDirectorySeparator(CommittedSubset.Folder), folder);
    }

    [Fact]
    public void SubsetFolderOfAnAssemblyThatRecordsNoneAsksForDataOption()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => ExampleData.SubsetFolder(typeof(object).Assembly));

        Assert.Contains("--data", error.Message);
    }

    [Fact]
    public void ClassFolderRowsListAFolderOfClassFoldersWithTheFolderNamesAsLabels()
    {
        using var dir = new TempDirectory();
        Touch(dir, "mine/Coat/2.png", "mine/Bag/1.png", "mine/Bag/0.png");

        var rows = ExampleData.ClassFolderRows(dir.File("mine") + Path.DirectorySeparatorChar);

        Assert.Equal(
            [new ImageFolderRow(dir.File("mine/Bag/0.png"), "Bag"), new ImageFolderRow(dir.File("mine/Bag/1.png"), "Bag"), new ImageFolderRow(dir.File("mine/Coat/2.png"), "Coat")],
            rows);
    }

    [Fact]
    public void ClassFolderRowsOfTheSubsetTrainFolderAreItsTrainingSplit()
    {
        var rows = ExampleData.ClassFolderRows(Path.Combine(CommittedSubset.Folder, FashionMnistSubset.TrainFolder));

        Assert.Equal(ImageFolder.Enumerate(CommittedSubset.Folder, FashionMnistSubset.TrainFolder), rows);
    }

    [Fact]
    public void ClassFolderRowsOfAMissingFolderNameIt()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-class-folder-" + Guid.NewGuid().ToString("N"));

        var error = Assert.Throws<DirectoryNotFoundException>(() => ExampleData.ClassFolderRows(missing));

        Assert.Contains($"'{missing}' does not exist", error.Message);
    }

    [Fact]
    public void TakePerClassKeepsTheFirstRowsOfEachLabelInOrder()
    {
        ImageFolderRow[] rows = [new("a1", "A"), new("b1", "B"), new("a2", "A"), new("a3", "A"), new("b2", "B"), new("c1", "C")];

        Assert.Equal(["a1", "b1", "a2", "b2", "c1"], ExampleData.TakePerClass(rows, 2).Select(r => r.ImagePath));
        Assert.Equal(rows, ExampleData.TakePerClass(rows, null));
        Assert.Throws<ArgumentOutOfRangeException>(() => ExampleData.TakePerClass(rows, 0));
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
