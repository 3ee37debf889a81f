// Specifies FashionMnistSubset on a small synthetic data folder: which images it writes, where, and what it cleans up or refuses.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class FashionMnistSubsetTests
{
    [Fact]
    public void FirstIndicesOfEachClassFollowFileOrder()
    {
        byte[] labels = [3, 1, 3, 0, 1, 3, 2, 4, 5, 6, 7, 8, 9, 0, 2, 4, 5, 6, 7, 8, 9];

        var chosen = FashionMnistSubset.FirstIndicesOfEachClass(labels, perClass: 2, FashionMnistSplit.Train);

        Assert.Equal([3, 13], chosen[0]);
        Assert.Equal([1, 4], chosen[1]);
        Assert.Equal([0, 2], chosen[3]);
    }

    [Fact]
    public void FirstIndicesOfEachClassRejectsAClassWithTooFewImages()
    {
        byte[] labels = [.. Enumerable.Range(0, 10).Select(i => (byte)i), 4];

        var e = Assert.Throws<InvalidDataException>(() => FashionMnistSubset.FirstIndicesOfEachClass(labels, perClass: 2, FashionMnistSplit.Test));

        Assert.Contains("The test images hold only 1 of class 0 (T-shirt/top); 2 per class were asked for", e.Message);
    }

    [Fact]
    public void WriteStoresTheFirstImagesOfEachClassUnderTheirIdxIndex()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.File("idx"), trainCount: 50, testCount: 30);

        var summary = FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), trainPerClass: 3, testPerClass: 2);

        // Labels cycle 0..9, so class c's images are c, c + 10, c + 20, ...; every pixel of image i is i.
        Assert.Equal(["00009.png", "00019.png", "00029.png"], FileNames(dir.File("out/train/Ankle_boot")));
        Assert.Equal(["00000.png", "00010.png"], FileNames(dir.File("out/test/T-shirt_top")));
        var image = GrayscalePng.Read(dir.File("out/train/Ankle_boot/00019.png"));
        Assert.Equal((3, 2), (image.Width, image.Height));
        Assert.All(image.Pixels, p => Assert.Equal(19, p));
        Assert.Equal((30, 20, 0), (summary.TrainImages, summary.TestImages, summary.StaleImagesDeleted));
    }

    [Fact]
    public void WriteAddsLabelsLicenseAndReadme()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.File("idx"), trainCount: 20, testCount: 10);

        FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), trainPerClass: 2, testPerClass: 1);

        Assert.Equal(FashionMnistSubset.LabelsCsv(), File.ReadAllText(dir.File("out/labels.csv")));
        Assert.Contains("Zalando SE", File.ReadAllText(dir.File("out/LICENSE")));
        Assert.Contains("--train-per-class 2 --test-per-class 1", File.ReadAllText(dir.File("out/README.md")));
    }

    [Fact]
    public void WriteDeletesImagesOfAnEarlierLargerRun()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.File("idx"), trainCount: 50, testCount: 30);
        FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), trainPerClass: 3, testPerClass: 2);

        var summary = FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), trainPerClass: 1, testPerClass: 2);

        Assert.Equal(20, summary.StaleImagesDeleted);
        Assert.Equal(["00009.png"], FileNames(dir.File("out/train/Ankle_boot")));
    }

    [Fact]
    public void WriteRefusesASplitFolderHoldingFoldersThatAreNotClasses()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.File("idx"), trainCount: 10, testCount: 10);
        Directory.CreateDirectory(dir.File("out/train/Ankle boot"));

        var e = Assert.Throws<InvalidDataException>(() => FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), 1, 1));

        Assert.Contains("holds folders that are not Fashion-MNIST classes (Ankle boot)", e.Message);
    }

    [Fact]
    public void WriteLeavesNoOutputWhenTheDataCannotFillTheSubset()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.File("idx"), trainCount: 10, testCount: 10);

        Assert.Throws<InvalidDataException>(() => FashionMnistSubset.Write(dir.File("idx"), dir.File("out"), trainPerClass: 2, testPerClass: 1));

        Assert.False(Directory.Exists(dir.File("out")));
    }

    [Fact]
    public void LabelsCsvHasAHeaderThenFolderClassNameAndLabelOfEachClass()
    {
        var lines = FashionMnistSubset.LabelsCsv().Split('\n');

        Assert.Equal("folder,class_name,label", lines[0]);
        Assert.Equal("T-shirt_top,T-shirt/top,0", lines[1]);
        Assert.Equal("Ankle_boot,Ankle boot,9", lines[10]);
        Assert.Equal("", lines[11]);
        Assert.Equal(12, lines.Length);
    }

    private static string[] FileNames(string folder) =>
        Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
}
