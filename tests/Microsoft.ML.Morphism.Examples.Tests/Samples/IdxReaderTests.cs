// Specifies IdxReader: what it reads (plain and gzipped IDX files) and what it refuses, with messages that say why.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class IdxReaderTests
{
    [Theory]
    [InlineData(false, "images.idx")]
    [InlineData(true, "images.idx.gz")]
    [InlineData(true, "gzipped-but-named-plain.idx")]
    [InlineData(false, "plain-but-named.gz")]
    public void ReadsImagesWhetherGzippedOrNotWhateverTheFileName(bool gzip, string fileName)
    {
        using var dir = new TempDirectory();
        var pixels = IdxFiles.RandomPixels(3 * 4 * 5, seed: 1);
        var content = IdxFiles.Images(3, 4, 5, pixels);
        File.WriteAllBytes(dir.File(fileName), gzip ? IdxFiles.Gzip(content) : content);

        var images = IdxReader.ReadImages(dir.File(fileName));

        Assert.Equal((3, 4, 5), (images.Count, images.Rows, images.Columns));
        Assert.Equal(pixels, images.Pixels.ToArray());
        Assert.Equal(pixels[20..40], images.GetImage(1).ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsLabelsWhetherGzippedOrNot(bool gzip)
    {
        using var dir = new TempDirectory();
        byte[] labels = [0, 9, 3, 3, 7];
        var content = IdxFiles.Labels(labels);
        File.WriteAllBytes(dir.File("labels"), gzip ? IdxFiles.Gzip(content) : content);

        Assert.Equal(labels, IdxReader.ReadLabels(dir.File("labels"), classCount: 10));
    }

    [Fact]
    public void ReadsAnImagesFileWithNoImages()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("empty"), IdxFiles.Images(0, 28, 28, []));

        var images = IdxReader.ReadImages(dir.File("empty"));

        Assert.Equal((0, 28, 28), (images.Count, images.Rows, images.Columns));
    }

    [Fact]
    public void RejectsImagesFileWithForeignMagicNumber()
    {
        var message = ReadImagesFailure([.. IdxFiles.Header(0x12345678, 1, 1, 1), 0]);

        Assert.Contains("magic number 0x12345678", message);
        Assert.Contains("not an IDX file", message);
    }

    [Fact]
    public void RejectsLabelsFileWhereImagesAreExpected()
    {
        var message = ReadImagesFailure(IdxFiles.Labels([1, 2]));

        Assert.Contains("magic number 0x00000801, expected 0x00000803", message);
        Assert.Contains("is it a labels file?", message);
    }

    [Fact]
    public void RejectsImagesFileWhoseElementsAreNotUnsignedBytes()
    {
        // 0x0D is the IDX code for 32-bit floats.
        var message = ReadImagesFailure([.. IdxFiles.Header(0x00000D03, 1, 1, 1), 0, 0, 0, 0]);

        Assert.Contains("element type 0x0D is not supported", message);
    }

    [Fact]
    public void RejectsImagesFileWithWrongDimensionCount()
    {
        var message = ReadImagesFailure([.. IdxFiles.Header(0x00000802, 2, 2), 0, 0, 0, 0]);

        Assert.Contains("2 dimension(s) where IDX images files have 3", message);
    }

    [Fact]
    public void RejectsFileTooShortForMagicNumber()
    {
        var message = ReadImagesFailure([0, 0]);

        Assert.Contains("truncated", message);
        Assert.Contains("magic number", message);
    }

    [Fact]
    public void RejectsImagesFileWithTruncatedHeader()
    {
        var message = ReadImagesFailure(IdxFiles.Header(IdxReader.ImagesMagic, 5, 28)); // the column count is missing

        Assert.Contains("truncated: an IDX images header is 16 bytes, the file has 12", message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RejectsImagesFileWithTruncatedPixels(bool gzip)
    {
        var content = IdxFiles.Images(3, 2, 2, IdxFiles.RandomPixels(12, seed: 2))[..^5];

        var message = ReadImagesFailure(gzip ? IdxFiles.Gzip(content) : content);

        Assert.Contains("truncated: its header declares 3 images of 2x2 pixels (12 bytes of data) but only 7 bytes follow the header", message);
    }

    [Fact]
    public void RejectsImagesFileWithMoreDataThanItsHeaderDeclares()
    {
        var message = ReadImagesFailure(IdxFiles.Images(2, 2, 2, IdxFiles.RandomPixels(12, seed: 3)));

        Assert.Contains("has 4 bytes more than its header declares (2 images of 2x2 pixels", message);
    }

    [Fact]
    public void RejectsImagesWithoutPixels()
    {
        var message = ReadImagesFailure(IdxFiles.Images(1, 0, 28, []));

        Assert.Contains("declares images of 0x28 pixels", message);
    }

    [Fact]
    public void RejectsLabelsFileWithFewerLabelsThanItsHeaderDeclares()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("labels"), [.. IdxFiles.Header(IdxReader.LabelsMagic, 4), 1, 2]);

        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(dir.File("labels"), classCount: 10));

        Assert.Contains(dir.File("labels"), e.Message);
        Assert.Contains("truncated: its header declares 4 labels (4 bytes of data) but only 2 bytes follow the header", e.Message);
    }

    [Fact]
    public void RejectsLabelOutOfRangeNamingItsIndexAndValue()
    {
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.File("labels"), IdxFiles.Labels([0, 9, 10, 1]));

        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(dir.File("labels"), classCount: 10));

        Assert.Contains(dir.File("labels"), e.Message);
        Assert.Contains("has label 10 at index 2, out of range: labels must be 0..9 (10 classes)", e.Message);
    }

    [Fact]
    public void RejectsFileThatStartsLikeGzipButDoesNotDecompress()
    {
        // A gzip header, then a deflate block of type 3, which deflate reserves as invalid.
        var message = ReadImagesFailure([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF, 0x07, 0xFF, 0xFF]);

        Assert.Contains("starts with the gzip magic bytes but does not decompress", message);
    }

    /// <summary>Writes <paramref name="content"/> to a file, expects ReadImages to refuse it, and returns the message after checking it names the file.</summary>
    private static string ReadImagesFailure(byte[] content)
    {
        using var dir = new TempDirectory();
        var path = dir.File("bad-images");
        File.WriteAllBytes(path, content);

        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(path));

        Assert.Contains($"IDX file '{path}'", e.Message);
        return e.Message;
    }
}
