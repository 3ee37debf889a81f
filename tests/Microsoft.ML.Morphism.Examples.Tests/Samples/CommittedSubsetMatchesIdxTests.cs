// Checks the committed Fashion-MNIST subset against the installed IDX files it was made from: same images, same pixels, same files.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class CommittedSubsetMatchesIdxTests
{
    [FactWhenFashionMnistInstalled]
    public void EachClassFolderHoldsTheFirstImagesOfThatClassInIdxFileOrder()
    {
        foreach (var (split, source, perClass) in CommittedSubset.Splits)
        {
            var labels = CommittedSubset.Idx(source).Labels;
            for (var label = 0; label < FashionMnist.ClassCount; label++)
            {
                var expected = Enumerable.Range(0, labels.Length).Where(i => labels[i] == label).Take(perClass)
                    .Select(i => i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) + ".png");
                var actual = Directory.GetFiles(Path.Combine(CommittedSubset.Folder, split, FashionMnist.FolderName(label)))
                    .Select(Path.GetFileName).Order(StringComparer.Ordinal);
                Assert.Equal(expected, actual);
            }
        }
    }

    [FactWhenFashionMnistInstalled]
    public void EveryCommittedPngDecodesToExactlyThePixelsOfItsIdxImage()
    {
        var checkedImages = 0;
        foreach (var (split, source, _) in CommittedSubset.Splits)
        {
            var images = CommittedSubset.Idx(source).Images;
            foreach (var row in ImageFolder.Enumerate(CommittedSubset.Folder, split))
            {
                var index = int.Parse(Path.GetFileNameWithoutExtension(row.ImagePath), System.Globalization.CultureInfo.InvariantCulture);
                var png = GrayscalePng.Read(row.ImagePath);
                Assert.Equal((images.Columns, images.Rows), (png.Width, png.Height));
                Assert.True(images.GetImage(index).SequenceEqual(png.Pixels), $"{row.ImagePath} differs from {split} image {index}");
                checkedImages++;
            }
        }
        Assert.Equal(3000, checkedImages);
    }

    [FactWhenFashionMnistInstalled]
    public void RegeneratingIntoAnEmptyFolderGivesTheSameFilesTextByteForByteAndImagesPixelForPixel()
    {
        using var dir = new TempDirectory();

        FashionMnistSubset.Write(FashionMnist.DefaultDataFolder, dir.Path,
            FashionMnistSubset.DefaultTrainPerClass, FashionMnistSubset.DefaultTestPerClass);

        var committed = CommittedSubset.RelativeFiles(CommittedSubset.Folder);
        Assert.Equal(committed, CommittedSubset.RelativeFiles(dir.Path));
        AssertNoneDiffers(committed, dir.Path, (a, b) => a.EndsWith(".png", StringComparison.Ordinal)
            ? GrayscalePng.Read(a) is var x && GrayscalePng.Read(b) is var y && (x.Width, x.Height) == (y.Width, y.Height) && x.Pixels.SequenceEqual(y.Pixels)
            : SameBytes(a, b));
    }

    [FactWhenFashionMnistInstalled]
    public void RegeneratingOverACopyOfTheCommittedSubsetChangesNoFile()
    {
        using var dir = new TempDirectory();
        var committed = CommittedSubset.RelativeFiles(CommittedSubset.Folder);
        foreach (var file in committed)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(dir.File(file))!);
            File.Copy(Path.Combine(CommittedSubset.Folder, file), dir.File(file));
        }

        var summary = FashionMnistSubset.Write(FashionMnist.DefaultDataFolder, dir.Path,
            FashionMnistSubset.DefaultTrainPerClass, FashionMnistSubset.DefaultTestPerClass);

        Assert.Equal(0, summary.StaleImagesDeleted);
        Assert.Equal(committed, CommittedSubset.RelativeFiles(dir.Path));
        AssertNoneDiffers(committed, dir.Path, SameBytes);
    }

    private static bool SameBytes(string a, string b) => File.ReadAllBytes(a).AsSpan().SequenceEqual(File.ReadAllBytes(b));

    private static void AssertNoneDiffers(string[] files, string regenerated, Func<string, string, bool> same)
    {
        var differing = files.Where(file => !same(Path.Combine(CommittedSubset.Folder, file), Path.Combine(regenerated, file))).ToArray();
        Assert.True(differing.Length == 0, $"regenerated files differ from the committed ones: {string.Join(", ", differing.Take(10))}");
    }
}
