// Specifies GrayscalePng: lossless round trips through PNG files, and what it refuses to write or read.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class GrayscalePngTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(28, 28)]
    [InlineData(3, 17)]
    [InlineData(257, 3)]
    [InlineData(120, 90)]
    public void RandomImagesRoundTripExactly(int width, int height)
    {
        using var dir = new TempDirectory();
        var pixels = IdxFiles.RandomPixels(width * height, seed: width * 1000 + height);

        GrayscalePng.Write(dir.File("image.png"), pixels, width, height);
        var image = GrayscalePng.Read(dir.File("image.png"));

        Assert.Equal((width, height), (image.Width, image.Height));
        Assert.Equal(pixels, image.Pixels);
    }

    [Fact]
    public void WriteRejectsPixelCountThatDoesNotMatchTheSize()
    {
        using var dir = new TempDirectory();

        var e = Assert.Throws<ArgumentException>(() => GrayscalePng.Write(dir.File("image.png"), new byte[10], 3, 3));

        Assert.Contains("A 3x3 image has 9 pixels, 10 were given", e.Message);
    }

    [Fact]
    public void ReadNamesTheFileWhenItCannotDecodeIt()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("not.png"), "plain text");

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Read(dir.File("not.png")));

        Assert.Contains($"Image file '{dir.File("not.png")}' cannot be decoded", e.Message);
    }

    [Fact]
    public void ReadRefusesAColourImageRatherThanMixingItsChannels()
    {
        using var dir = new TempDirectory();
        byte[] bgra = [10, 10, 10, 255, 10, 20, 10, 255];
        using (var colour = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Bgra32, bgra))
            colour.Save(dir.File("colour.png"));

        var e = Assert.Throws<InvalidDataException>(() => GrayscalePng.Read(dir.File("colour.png")));

        Assert.Contains("is not opaque grayscale: pixel (1, 0) has channels 10, 20, 10 and alpha 255", e.Message);
    }
}
