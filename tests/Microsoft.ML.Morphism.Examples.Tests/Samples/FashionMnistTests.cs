// Specifies FashionMnist: its class names, their folder-safe forms, and loading a split from a data folder.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class FashionMnistTests
{
    [Fact]
    public void ClassNamesAreTheOfficialOnesInLabelOrder()
    {
        Assert.Equal(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            FashionMnist.ClassNames);
    }

    [Fact]
    public void FolderNamesReplaceTheSlashAndTheSpaceWithUnderscores()
    {
        Assert.Equal(
            ["T-shirt_top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot"],
            FashionMnist.FolderNames);
    }

    [Fact]
    public void FolderNamesUseOnlyLettersDigitsDashesAndUnderscores()
    {
        Assert.All(FashionMnist.FolderNames, name => Assert.Matches("^[A-Za-z0-9_-]+$", name));
    }

    [Fact]
    public void EveryLabelMapsToItsNamesAndBack()
    {
        for (var label = 0; label < FashionMnist.ClassCount; label++)
        {
            Assert.Equal(label, FashionMnist.LabelOfFolder(FashionMnist.FolderName(label)));
            Assert.Equal(label, FashionMnist.LabelOfClassName(FashionMnist.ClassName(label)));
            Assert.Equal(FashionMnist.ClassName(label), FashionMnist.ClassNameOfFolder(FashionMnist.FolderName(label)));
        }
    }

    [Fact]
    public void UnknownFolderNameIsRejectedListingTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => FashionMnist.LabelOfFolder("Ankle boot"));

        Assert.Contains("'Ankle boot' is not a Fashion-MNIST folder name", e.Message);
        Assert.Contains("Ankle_boot", e.Message);
    }

    [Fact]
    public void LabelOutsideTheTenClassesIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FashionMnist.ClassName(10));
    }

    [Fact]
    public void LoadReadsImagesAndLabelsOfTheRequestedSplit()
    {
        using var dir = new TempDirectory();
        IdxFiles.WriteFashionMnistFolder(dir.Path, trainCount: 30, testCount: 20);

        var test = FashionMnist.Load(FashionMnistSplit.Test, dir.Path);

        Assert.Equal(20, test.Images.Count);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (byte)(i % 10)), test.Labels);
        Assert.Equal(Enumerable.Repeat((byte)13, 6), test.Images.GetImage(13).ToArray());
    }

    [Fact]
    public void LoadFallsBackToDecompressedFilesWithoutTheGzExtension()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte"), IdxFiles.Images(2, 1, 1, [7, 8]));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte"), IdxFiles.Labels([4, 5]));

        var train = FashionMnist.Load(FashionMnistSplit.Train, dir.Path);

        Assert.Equal([4, 5], train.Labels);
    }

    [Fact]
    public void LoadFromMissingFolderSaysHowToGetTheData()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-fashion-mnist-" + Guid.NewGuid().ToString("N"));

        var e = Assert.Throws<DirectoryNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Train, missing));

        Assert.Contains(missing, e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void LoadWithoutLabelsFileNamesTheMissingFile()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("t10k-images-idx3-ubyte.gz"), IdxFiles.Gzip(IdxFiles.Images(1, 1, 1, [0])));

        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(FashionMnistSplit.Test, dir.Path));

        Assert.Contains("neither 't10k-labels-idx1-ubyte.gz' nor 't10k-labels-idx1-ubyte'", e.Message);
    }

    [Fact]
    public void LoadRejectsSplitWhoseImageAndLabelCountsDiffer()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte.gz"), IdxFiles.Gzip(IdxFiles.Images(3, 1, 1, [0, 1, 2])));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte.gz"), IdxFiles.Gzip(IdxFiles.Labels([0, 1])));

        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));

        Assert.Contains("holds 3 images but labels file", e.Message);
        Assert.Contains("holds 2 labels", e.Message);
    }

    [Fact]
    public void LoadRejectsLabelsBeyondTheTenClasses()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("train-images-idx3-ubyte.gz"), IdxFiles.Gzip(IdxFiles.Images(1, 1, 1, [0])));
        File.WriteAllBytes(dir.File("train-labels-idx1-ubyte.gz"), IdxFiles.Gzip(IdxFiles.Labels([10])));

        var e = Assert.Throws<InvalidDataException>(() => FashionMnist.Load(FashionMnistSplit.Train, dir.Path));

        Assert.Contains("has label 10 at index 0, out of range", e.Message);
    }
}
