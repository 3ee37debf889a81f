// Specifies the committed Fashion-MNIST subset on its own: its layout, counts, label map and licence.
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class CommittedSubsetTests
{
    [Theory]
    [InlineData("train", 200)]
    [InlineData("test", 100)]
    public void EveryClassFolderHoldsExactlyTheCommittedNumberOfImages(string split, int perClass)
    {
        foreach (var folder in FashionMnist.FolderNames)
        {
            var images = Directory.GetFiles(Path.Combine(CommittedSubset.Folder, split, folder));
            Assert.True(images.Length == perClass, $"{split}/{folder} holds {images.Length} files, expected {perClass}");
            Assert.All(images, path => Assert.Matches(@"^\d{5}\.png$", Path.GetFileName(path)));
        }
    }

    [Theory]
    [InlineData("train")]
    [InlineData("test")]
    public void SplitFolderHoldsExactlyTheTenClassFolders(string split)
    {
        var folders = Directory.GetDirectories(Path.Combine(CommittedSubset.Folder, split)).Select(Path.GetFileName);

        Assert.Equal(FashionMnist.FolderNames.Order(StringComparer.Ordinal), folders.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LabelsCsvMapsEachFolderToItsOfficialClassNameAndLabel()
    {
        var lines = File.ReadAllLines(Path.Combine(CommittedSubset.Folder, FashionMnistSubset.LabelsFileName));

        Assert.Equal(FashionMnistSubset.LabelsHeader, lines[0]);
        Assert.Equal(
            Enumerable.Range(0, FashionMnist.ClassCount).Select(label => (FashionMnist.FolderNames[label], FashionMnist.ClassNames[label], label)),
            lines.Skip(1).Select(line => line.Split(',')).Select(f => (f[0], f[1], int.Parse(f[2], System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Fact]
    public void LicenseIsTheMitLicenceOfZalandoSe()
    {
        var license = File.ReadAllText(Path.Combine(CommittedSubset.Folder, "LICENSE"));

        Assert.StartsWith("The MIT License (MIT)", license);
        Assert.Contains("Copyright (c) 2017 Zalando SE", license);
        Assert.Contains("Permission is hereby granted, free of charge", license);
    }

    [Fact]
    public void EveryImageIsA28By28GrayscalePng()
    {
        var rows = CommittedSubset.Splits.SelectMany(s => ImageFolder.Enumerate(CommittedSubset.Folder, s.Split));

        Assert.All(rows, row =>
        {
            var image = GrayscalePng.Read(row.ImagePath);
            Assert.Equal((28, 28), (image.Width, image.Height));
        });
    }

    [Theory]
    [InlineData("train", 2000)]
    [InlineData("test", 1000)]
    public void ImageFolderListsEveryImageLabelledWithItsClassFolder(string split, int count)
    {
        var rows = ImageFolder.Enumerate(CommittedSubset.Folder, split);

        Assert.Equal(count, rows.Count);
        Assert.All(rows, row => Assert.Equal(row.Label, Path.GetFileName(Path.GetDirectoryName(row.ImagePath))));
        Assert.Equal(FashionMnist.FolderNames.Order(StringComparer.Ordinal), rows.Select(r => r.Label).Distinct());
    }
}
