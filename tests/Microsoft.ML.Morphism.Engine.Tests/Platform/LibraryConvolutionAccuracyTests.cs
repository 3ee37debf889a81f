// Convolutions with the channel counts oneDNN got wrong match float64 when they go through the library's runtime.
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Platform;

/// <summary>
/// On an affected CPU (AVX-512 EPYC) plain libtorch gives relative errors of 0.25–0.3 or NaN for
/// these shapes; through <see cref="NetworkModule"/> (which runs the numerics self-check and the path
/// it chose) forward, input gradient and weight gradient stay within the self-check's bounds, every
/// repetition.
/// </summary>
public class LibraryConvolutionAccuracyTests
{
    [Theory]
    [InlineData(20, 20, 3)]
    [InlineData(24, 24, 3)]
    [InlineData(40, 40, 3)]
    [InlineData(20, 24, 5)]
    [InlineData(24, 48, 5)]
    [InlineData(40, 8, 5)]
    public void ConvolutionMatchesFloat64ThroughTheLibrary(int inChannels, int outChannels, int kernel)
    {
        var network = NetworkDescription.Parse($"input({inChannels},14,14) conv({outChannels},{kernel})");
        var weights = NetworkWeights.Initialize(network, seed: inChannels + kernel);
        using var single = new NetworkModule(network, weights, CPU);
        using var reference = new NetworkModule(network, weights.ToPrecision(Precision.Float64), CPU);
        using var generator = new Generator(3);
        var x = randn([64, inChannels, 14, 14], ScalarType.Float32, generator: generator);
        var upstream = randn([64, outChannels, 14, 14], ScalarType.Float32, generator: generator);

        var expected = Run(reference, x.to(ScalarType.Float64), upstream.to(ScalarType.Float64));
        for (int repetition = 0; repetition < 5; repetition++)
        {
            var actual = Run(single, x, upstream);
            AssertClose(actual.Output, expected.Output, ConvolutionErrors.ForwardBound, "forward", repetition);
            AssertClose(actual.InputGradient, expected.InputGradient, ConvolutionErrors.GradientBound, "dX", repetition);
            AssertClose(actual.WeightGradient, expected.WeightGradient, ConvolutionErrors.GradientBound, "dW", repetition);
        }
        Assert.NotNull(ConvolutionNumerics.Verdict);
    }

    private static (Tensor Output, Tensor InputGradient, Tensor WeightGradient) Run(NetworkModule module, Tensor x0, Tensor upstream)
    {
        module.zero_grad();
        var x = x0.detach().requires_grad_(true);
        var y = module.forward(x);
        y.backward([upstream]);
        var weight = module.named_parameters().Single(p => p.name == "conv1.weight").parameter;
        return (y.detach(), x.grad!.detach().clone(), weight.grad!.detach().clone());
    }

    private static void AssertClose(Tensor actual, Tensor expected, double bound, string what, int repetition)
    {
        double error = actual.to(ScalarType.Float64).sub(expected).abs().max().item<double>() / expected.abs().max().item<double>();
        Assert.True(error <= bound, $"{what}, repetition {repetition}: relative error {error:G3} > {bound:G3} (path {ConvolutionNumerics.Path})");
    }
}
