// Specifies GrayscalePng and Crc32: lossless round trips, the exact file layout written, and what the decoder refuses.
using System.Text;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class GrayscalePngTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(28, 28)]
    [InlineData(3, 17)]
    [InlineData(64, 5)]
    [InlineData(257, 3)]
    [InlineData(120, 90)]
    public void RandomImagesRoundTripExactly(int width, int height)
    {
        var pixels = IdxFiles.RandomPixels(width * height, seed: width * 1000 + height);

        var image = GrayscalePng.Decode(GrayscalePng.Encode(pixels, width, height));

        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void EncodedFileIsSignatureThenIhdrIdatIend()
    {
        var png = GrayscalePng.Encode(new byte[6], 3, 2);

        Assert.Equal(PngChunks.Signature, png[..8]);
        Assert.Equal(["IHDR", "IDAT", "IEND"], PngChunks.Split(png).Select(c => c.Type));
    }

    [Fact]
    public void HeaderDeclaresEightBitGrayscaleNonInterlaced()
    {
        var png = GrayscalePng.Encode(new byte[300 * 2], 300, 2);

        var header = PngChunks.Split(png).Single(c => c.Type == "IHDR").Data;

        // width 300 and height 2, big-endian; bit depth 8; color type 0; compression, filter and interlace methods 0.
        Assert.Equal([0, 0, 1, 44, 0, 0, 0, 2, 8, 0, 0, 0, 0], header);
    }

    [Fact]
    public void EveryRowIsStoredWithFilterTypeNone()
    {
        var pixels = IdxFiles.RandomPixels(5 * 4, seed: 7);

        var rows = PngChunks.RawRows(GrayscalePng.Encode(pixels, 5, 4));

        Assert.Equal(
            Enumerable.Range(0, 4).SelectMany(r => new byte[] { 0 }.Concat(pixels.Skip(r * 5).Take(5))),
            rows);
    }

    [Fact]
    public void SameImageAlwaysEncodesToSameBytes()
    {
        var pixels = IdxFiles.RandomPixels(28 * 28, seed: 8);

        Assert.Equal(GrayscalePng.Encode(pixels, 28, 28), GrayscalePng.Encode(pixels.ToArray(), 28, 28));
    }

    [Fact]
    public void EncodeRejectsPixelCountThatDoesNotMatchTheSize()
    {
        var e = Assert.Throws<ArgumentException>(() => GrayscalePng.Encode(new byte[10], 3, 3));

        Assert.Contains("A 3x3 image has 9 pixels, 10 were given", e.Message);
    }

    [Fact]
    public void DecodeSkipsAncillaryChunks()
    {
        var chunks = PngChunks.Split(GrayscalePng.Encode([1, 2, 3, 4], 2, 2));
        chunks.Insert(1, new PngChunk("tEXt", Encoding.ASCII.GetBytes("Comment\0written by a test")));

        Assert.Equal([1, 2, 3, 4], GrayscalePng.Decode(PngChunks.Join(chunks)).Pixels);
    }

    [Fact]
    public void DecodeJoinsImageDataSplitOverSeveralIdatChunks()
    {
        var pixels = IdxFiles.RandomPixels(20 * 20, seed: 9);
        var chunks = PngChunks.Split(GrayscalePng.Encode(pixels, 20, 20));
        var data = chunks[1].Data;
        chunks[1] = new PngChunk("IDAT", data[..(data.Length / 2)]);
        chunks.Insert(2, new PngChunk("IDAT", data[(data.Length / 2)..]));

        Assert.Equal(pixels, GrayscalePng.Decode(PngChunks.Join(chunks)).Pixels);
    }

    [Fact]
    public void DecodeRejectsBytesWithoutThePngSignature()
    {
        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode("GIF89a......"u8));

        Assert.Contains("does not start with the PNG signature", e.Message);
    }

    [Fact]
    public void DecodeRejectsChunkWithWrongCrc()
    {
        var png = GrayscalePng.Encode([1, 2, 3, 4], 2, 2);
        png[8 + 8 + 13] ^= 0xFF; // first byte of the IHDR chunk's CRC

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png));

        Assert.Contains("chunk 'IHDR' at byte 8 has CRC", e.Message);
        Assert.Contains("damaged", e.Message);
    }

    [Fact]
    public void DecodeRejectsTruncatedFile()
    {
        var png = GrayscalePng.Encode(IdxFiles.RandomPixels(100, seed: 10), 10, 10);

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png[..^20]));

        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void DecodeRejectsFileWithoutIend()
    {
        var png = PngChunks.Join(PngChunks.Split(GrayscalePng.Encode([1, 2], 2, 1)).Where(c => c.Type != "IEND"));

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png));

        Assert.Contains("without an IEND chunk", e.Message);
    }

    [Fact]
    public void DecodeRejectsColorImages()
    {
        var png = PngChunks.WithHeaderByte(GrayscalePng.Encode([1, 2], 2, 1), index: 9, value: 2);

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png));

        Assert.Contains("it is truecolor RGB (color type 2) with bit depth 8; only 8-bit grayscale", e.Message);
    }

    [Fact]
    public void DecodeRejectsSixteenBitGrayscale()
    {
        var png = PngChunks.WithHeaderByte(GrayscalePng.Encode([1, 2], 2, 1), index: 8, value: 16);

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png));

        Assert.Contains("grayscale (color type 0) with bit depth 16", e.Message);
    }

    [Fact]
    public void DecodeRejectsInterlacedImages()
    {
        var png = PngChunks.WithHeaderByte(GrayscalePng.Encode([1, 2], 2, 1), index: 12, value: 1);

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(png));

        Assert.Contains("interlaced (interlace method 1)", e.Message);
    }

    [Theory]
    [InlineData(1, "(Sub)")]
    [InlineData(4, "(Paeth)")]
    [InlineData(9, "which PNG does not define")]
    public void DecodeRejectsRowsWithFiltersOtherThanNone(byte filter, string filterName)
    {
        var png = GrayscalePng.Encode([1, 2, 3, 4], 2, 2);
        var rows = PngChunks.RawRows(png);
        rows[3] = filter; // the second row's filter byte

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(PngChunks.WithRawRows(png, rows)));

        Assert.Contains($"row 1 uses filter type {filter}", e.Message);
        Assert.Contains(filterName, e.Message);
    }

    [Fact]
    public void DecodeRejectsImageDataShorterThanTheHeaderDeclares()
    {
        var png = GrayscalePng.Encode([1, 2, 3, 4], 2, 2);

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(PngChunks.WithRawRows(png, [0, 1, 2, 0])));

        Assert.Contains("holds 4 bytes after decompression, a 2x2 8-bit grayscale image needs 6", e.Message);
    }

    [Fact]
    public void DecodeRejectsUnknownCriticalChunks()
    {
        var chunks = PngChunks.Split(GrayscalePng.Encode([1, 2], 2, 1));
        chunks.Insert(1, new PngChunk("PLTE", [0, 0, 0]));

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Decode(PngChunks.Join(chunks)));

        Assert.Contains("critical chunk 'PLTE'", e.Message);
    }

    [Fact]
    public void ReadNamesTheFileWhenItCannotDecodeIt()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("not.png"), "plain text");

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Read(dir.File("not.png")));

        Assert.Contains($"PNG file '{dir.File("not.png")}'", e.Message);
    }

    [Fact]
    public void WriteThenReadGivesBackThePixels()
    {
        using var dir = new TempDirectory();
        var pixels = IdxFiles.RandomPixels(28 * 28, seed: 11);

        GrayscalePng.Write(dir.File("image.png"), pixels, 28, 28);

        Assert.Equal(pixels, GrayscalePng.Read(dir.File("image.png")).Pixels);
    }

    [Fact]
    public void Crc32OfTheStandardCheckStringIsCbf43926()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Fact]
    public void Crc32AppendedPieceByPieceEqualsCrc32OfTheWhole()
    {
        var data = IdxFiles.RandomPixels(1000, seed: 12);

        Assert.Equal(Crc32.Compute(data), Crc32.Append(Crc32.Compute(data.AsSpan(0, 333)), data.AsSpan(333)));
    }
}
