// The exact workaround for oneDNN's faulty channel counts: run a conv with zero channels added up to a multiple of 16.
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>
/// Per-group channel counts a convolution is computed at. The extra input channels are zeros and the
/// extra filters are zero weights with zero bias, sliced off the output before anything else sees
/// it, so forward, input gradient and weight gradient equal the unpadded convolution's exactly (the
/// added terms are all exact zeros). Gradients flow to the original weight and bias through the pad.
/// </summary>
public readonly record struct ChannelPadding(int InPerGroup, int OutPerGroup)
{
    /// <summary>oneDNN's AVX-512 kernels block channels by 16; counts that fill every block were always computed right.</summary>
    public const int Block = 16;

    /// <summary>Input channels per group up to this count are read in plain layout by oneDNN and are left unpadded when that verifies.</summary>
    public const int SmallInput = 4;

    /// <summary>The cheapest padding first: output channels to a multiple of 16, small inputs (grayscale, RGB) kept; then both padded.</summary>
    public static IEnumerable<ChannelPadding> Candidates(ConvolutionShape shape)
    {
        int outPadded = RoundUp(shape.OutPerGroup), inPadded = RoundUp(shape.InPerGroup);
        if (shape.InPerGroup <= SmallInput)
            yield return new(shape.InPerGroup, outPadded);
        yield return new(inPadded, outPadded);
    }

    /// <summary>True when the cheapest candidate leaves <paramref name="shape"/> as it is (nothing to pad).</summary>
    public static bool IsAligned(ConvolutionShape shape) => Candidates(shape).First().IsIdentityFor(shape);

    /// <summary>Whether this padding changes nothing for <paramref name="shape"/>.</summary>
    public bool IsIdentityFor(ConvolutionShape shape) => InPerGroup == shape.InPerGroup && OutPerGroup == shape.OutPerGroup;

    /// <summary>Computes <c>conv2d(input, weight, bias)</c> at the padded channel counts and returns the unpadded result.</summary>
    public Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias, long stride, long padding, long dilation, long groups)
    {
        long n = input.shape[0], inG = input.shape[1] / groups, outG = weight.shape[0] / groups;
        long k0 = weight.shape[2], k1 = weight.shape[3];
        long addIn = InPerGroup - inG, addOut = OutPerGroup - outG;
        if (addIn < 0 || addOut < 0)
            throw new ArgumentException($"Padding to {InPerGroup}→{OutPerGroup} channels per group is smaller than the convolution's {inG}→{outG}.");

        var x = input;
        if (addIn > 0)
        {
            x = groups == 1
                ? nn.functional.pad(input, [0, 0, 0, 0, 0, addIn])
                : nn.functional.pad(input.view(n, groups, inG, input.shape[2], input.shape[3]), [0, 0, 0, 0, 0, addIn])
                    .view(n, groups * InPerGroup, input.shape[2], input.shape[3]);
        }
        var w = weight.view(groups, outG, inG, k0, k1);
        w = nn.functional.pad(w, [0, 0, 0, 0, 0, addIn, 0, addOut]).view(groups * OutPerGroup, InPerGroup, k0, k1);
        var b = bias is null ? null : nn.functional.pad(bias.view(groups, outG), [0, addOut]).view(groups * OutPerGroup);

        var y = nn.functional.conv2d(x, w, b, [stride], [padding], [dilation], groups);
        if (addOut == 0)
            return y;
        return groups == 1
            ? y.narrow(1, 0, outG)
            : y.view(n, groups, OutPerGroup, y.shape[2], y.shape[3]).narrow(2, 0, outG).reshape(n, groups * outG, y.shape[2], y.shape[3]);
    }

    private static int RoundUp(int channels) => (channels + Block - 1) / Block * Block;
}
