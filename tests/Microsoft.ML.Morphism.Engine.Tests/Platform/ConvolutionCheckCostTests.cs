// The numerics self-check's per-shape cost is bounded: a forged model's huge padding cost minutes of checking before (issue 16).
using Microsoft.ML.Morphism.Platform;

namespace Microsoft.ML.Morphism.Engine.Tests.Platform;

public class ConvolutionCheckCostTests
{
    [Fact]
    public void ShapesCheapToCheckAreCheckedAsTheyAre()
    {
        var shape = new ConvolutionShape(0, 16, 32, 14, 14, 3, Padding: 1);

        Assert.Equal(shape, ConvolutionNumerics.CheckedAs(shape));
    }

    [Theory]
    // conv(1,1,pad=700) on 12×12: its full check took 150 s here; conv(16,1,pad=504) and a 64-channel 3×3 conv on 128×128.
    [InlineData(1, 1, 12, 1, 700)]
    [InlineData(1, 16, 12, 1, 504)]
    [InlineData(64, 64, 128, 3, 1)]
    public void LargeShapesAreCheckedOnACropWithTheSameChannelsKernelAndStride(int inChannels, int outChannels, int size, int kernel, int padding)
    {
        var shape = new ConvolutionShape(0, inChannels, outChannels, size, size, kernel, Padding: padding);

        var crop = ConvolutionNumerics.CheckedAs(shape);

        Assert.NotNull(crop);
        Assert.Equal(shape with { Height = crop!.Height, Width = crop.Width, Padding = crop.Padding }, crop);
        Assert.True(crop.Height <= 16 + kernel && crop.Width <= 16 + kernel && crop.Padding <= kernel - 1, crop.ToString());
    }

    [Fact]
    public void AShapeTooCostlyEvenCroppedIsNotCheckedOneByOne()
    {
        // 512→512 with a 31×31 kernel: ~4e11 MACs per image even on the smallest crop; it runs with the full channel padding.
        Assert.Null(ConvolutionNumerics.CheckedAs(new ConvolutionShape(0, 512, 512, 64, 64, 31, Padding: 15)));
    }
}
