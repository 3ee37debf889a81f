// The padding workaround is exact: padded and plain convolutions agree in float64 on forward, dX, dW and dB.
using Microsoft.ML.Morphism.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Platform;

public class ChannelPaddingTests
{
    /// <summary>Random shapes (groups 1–3, with and without bias, followed by a training-mode BatchNorm), each against the plain conv in float64.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void PaddedConvolutionEqualsThePlainOneInForwardAndBothGradients(int seed)
    {
        var random = new Random(seed);
        int groups = random.Next(1, 4), inG = random.Next(1, 11), outG = random.Next(1, 11), k = 1 + 2 * random.Next(0, 3);
        int size = random.Next(k, k + 8), stride = random.Next(1, 3), pad = random.Next(0, k / 2 + 1);
        bool bias = random.Next(2) == 0;
        var shape = new ConvolutionShape(random.Next(1, 6), inG * groups, outG * groups, size, size, k, stride, pad, 1, groups);

        foreach (var padding in ChannelPadding.Candidates(shape))
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)seed);
            var x = randn([shape.Batch, shape.InChannels, size, size], ScalarType.Float64, generator: generator);
            var w = randn([shape.OutChannels, inG, k, k], ScalarType.Float64, generator: generator);
            var b = bias ? randn([shape.OutChannels], ScalarType.Float64, generator: generator) : null;
            var gamma = rand([shape.OutChannels], ScalarType.Float64, generator: generator).add_(0.5);

            var plain = Run(x, w, b, gamma, (xi, wi, bi) => nn.functional.conv2d(xi, wi, bi, [stride], [pad], [1], groups));
            var padded = Run(x, w, b, gamma, (xi, wi, bi) => padding.Conv2d(xi, wi, bi, stride, pad, 1, groups));

            for (int i = 0; i < plain.Length; i++)
            {
                if (plain[i] is null)
                    continue;
                double error = padded[i]!.sub(plain[i]!).abs().max().item<double>() / Math.Max(1e-300, plain[i]!.abs().max().item<double>());
                Assert.True(error <= 1e-12, $"{shape} padded to {padding}: {new[] { "output", "dX", "dW", "dB" }[i]} relative error {error:G3}");
            }
        }
    }

    [Fact]
    public void CandidatesPadOutputChannelsToSixteenKeepSmallInputsAndNeverShrink()
    {
        var gray = new ConvolutionShape(8, 1, 24, 28, 28, 3);
        Assert.Equal([new ChannelPadding(1, 32), new ChannelPadding(16, 32)], ChannelPadding.Candidates(gray));
        var grouped = new ConvolutionShape(8, 40, 20, 14, 14, 3, Groups: 2);
        Assert.Equal([new ChannelPadding(32, 16)], ChannelPadding.Candidates(grouped));
        var aligned = new ConvolutionShape(8, 32, 48, 14, 14, 3);
        Assert.True(ChannelPadding.Candidates(aligned).Single().IsIdentityFor(aligned));
    }

    private static Tensor?[] Run(Tensor x0, Tensor w0, Tensor? b0, Tensor gamma, Func<Tensor, Tensor, Tensor?, Tensor> conv)
    {
        var x = x0.detach().requires_grad_(true);
        var w = w0.detach().requires_grad_(true);
        var b = b0?.detach().requires_grad_(true);
        var y = conv(x, w, b);
        // A BatchNorm in training mode after the conv: the sliced output must be all it sees.
        var normalized = nn.functional.batch_norm(y, null, null, gamma, null, training: true);
        // (The BatchNorm cancels the bias; the second term gives the bias a gradient to compare.)
        var loss = normalized.mul(normalized.sin()).sum().add(y.mul(y.cos()).sum());
        var inputs = b is null ? new[] { x, w } : new[] { x, w, b };
        var grads = torch.autograd.grad([loss], inputs);
        return [y.detach(), grads[0], grads[1], b is null ? null : grads[2]];
    }
}
