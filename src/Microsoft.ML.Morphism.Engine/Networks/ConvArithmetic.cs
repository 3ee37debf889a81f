// Shape arithmetic of convolutions and pooling, stated once.
namespace Microsoft.ML.Morphism.Networks;

internal static class ConvArithmetic
{
    /// <summary>
    /// Output length of a convolution/pooling window along one axis (PyTorch's floor rule), in double so that no
    /// product of ints wraps; an <see cref="OverflowException"/> when it does not fit an int (the caller names the layer).
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int padding, int dilation)
    {
        double size = Math.Floor((input + 2.0 * padding - (double)dilation * (kernel - 1.0) - 1) / stride) + 1;
        return size > int.MaxValue ? throw new OverflowException($"an output length of {size:0} does not fit a 32-bit size") : (int)size;
    }
}
