// Specification of the kernel-size morph: centred zero padding, padding raised to match, exact.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class EnlargeKernelTests(ITestOutputHelper output)
{
    [Fact]
    public void EnlargingAnyConvolutionOfRandomNetworksPreservesTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 40; seed++)
        {
            var random = new Random(2000 + seed);
            var net = RandomNetworks.Cnn(seed);
            var convs = net.AllLayers().OfType<Conv2dLayer>().ToList();
            var conv = convs[random.Next(convs.Count)];
            errors.Add(StepChecks.AssertPreserves(net, new EnlargeKernelStep(conv.Name, conv.KernelSize + 2 * random.Next(1, 3)), seed));
        }
        output.WriteLine($"kernel, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Theory]
    [InlineData("input(3,9,9) conv(4,3,stride=2) relu gap dense(3)", 7)]
    [InlineData("input(3,9,9) conv(4,3,pad=0) relu flatten dense(3)", 5)]
    [InlineData("input(3,12,12) conv(4,3,dilation=2) relu gap dense(3)", 5)]
    [InlineData("input(4,8,8) conv(6,1,groups=2) relu gap dense(3)", 3)]
    [InlineData("input(3,8,8) conv(4,2) relu flatten dense(3)", 4)]
    public void EnlargingPreservesStridedValidDilatedGroupedAndEvenKernels(string text, int newKernel)
    {
        var net = NetworkDescription.Parse(text);
        var errors = StepChecks.AssertPreserves(net, new EnlargeKernelStep("conv1", newKernel), seed: 3);
        output.WriteLine($"kernel(conv1, {newKernel}) on {text}: {errors}");
    }

    [Fact]
    public void TheOldKernelSitsCentredInZerosAndPaddingGrowsByDilationTimesHalfTheGrowth()
    {
        var net = NetworkDescription.Parse("input(1,10,10) conv(1,3,dilation=2) gap dense(2)");
        var weights = RandomNetworks.Weights(net, 1);
        var outcome = new EnlargeKernelStep("conv1", 7).Apply(net, weights);

        var conv = Assert.IsType<Conv2dLayer>(outcome.Network["conv1"]);
        Assert.Equal((7, 2 + 2 * 2), (conv.KernelSize, conv.Padding));
        var kernel = outcome.Weights["conv1.weight"].Values;
        var old = weights["conv1.weight"].Values;
        for (int row = 0; row < 7; row++)
            for (int col = 0; col < 7; col++)
            {
                bool inside = row is >= 2 and < 5 && col is >= 2 and < 5;
                Assert.Equal(inside ? old[(row - 2) * 3 + col - 2] : 0.0, kernel[row * 7 + col]);
            }
    }

    [Theory]
    [InlineData("conv9", 5, "no layer named 'conv9'")]
    [InlineData("relu1", 5, "only convolutions have a kernel")]
    [InlineData("dense1", 5, "only convolutions have a kernel")]
    [InlineData("conv1", 3, "shrinking")]
    [InlineData("conv1", 1, "shrinking")]
    [InlineData("conv1", 4, "must be even")]
    public void InvalidEnlargementIsRejectedNamingTheLayerAndTheValidChoices(string layer, int newKernel, string reason)
    {
        var net = NetworkDescription.Parse("input(3,6,6) conv(4,3) relu conv(4,1) gap dense(3)");
        var error = Assert.Throws<ArgumentException>(() => new EnlargeKernelStep(layer, newKernel).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains($"'{layer}'", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.True(error.Message.Contains("conv1, conv2") || error.Message.Contains("5, 7, ..."), $"no valid choices in: {error.Message}");
    }

    [Fact]
    public void TextFormIsKernelWithLayerAndSize() =>
        Assert.Equal("kernel(conv2, 5)", new EnlargeKernelStep("conv2", 5).ToString());
}
