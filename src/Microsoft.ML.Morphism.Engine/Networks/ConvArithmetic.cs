// Shape arithmetic of convolutions and pooling, stated once.
namespace Microsoft.ML.Morphism.Networks;

internal static class ConvArithmetic
{
    /// <summary>Output length of a convolution/pooling window along one axis (PyTorch's floor rule).</summary>
    public static int OutputSize(int input, int kernel, int stride, int padding, int dilation) =>
        (int)Math.Floor((input + 2.0 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}
