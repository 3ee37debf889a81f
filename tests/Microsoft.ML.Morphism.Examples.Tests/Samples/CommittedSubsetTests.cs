// Specifies the committed Fashion-MNIST subset on its own: its layout, counts, label map and licence.
using System.Security.Cryptography;
using System.Text;
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

    /// <summary>
    /// SHA-256 of every committed image's path, size and pixels, in path order, as the examples' first PNG decoder
    /// (hand-written) read them: whatever decodes the images now must give every pixel unchanged.
    /// </summary>
    private const string CommittedPixelsSha256 = "0E0DC81F4447FD0443DC755B8F405B84C88608710BFE87D5257E7EAFDE44305B";

    [Fact]
    public void EveryImageIsA28By28GrayscalePngWithThePixelsItWasCommittedWith()
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in CommittedSubset.RelativeFiles(CommittedSubset.Folder).Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
        {
            var image = GrayscalePng.Read(Path.Combine(CommittedSubset.Folder, file));
            Assert.True((image.Width, image.Height) == (28, 28), $"{file} is {image.Width}x{image.Height}");
            sha256.AppendData(Encoding.UTF8.GetBytes($"{file} {image.Width}x{image.Height}\n"));
            sha256.AppendData(image.Pixels);
        }

        Assert.Equal(CommittedPixelsSha256, Convert.ToHexString(sha256.GetHashAndReset()));
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
