// Specification of the skip-connection morph: a zero projection from an earlier top-level blob, exact.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class AddSkipTests(ITestOutputHelper output)
{
    [Fact]
    public void AddingAnyCompatibleSkipToRandomNetworksPreservesTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 48; seed++)
        {
            var random = new Random(4000 + seed);
            var net = StepChecks.Network(seed);
            var pairs = StepChecks.CompatibleSkips(net);
            var (from, to) = pairs[random.Next(pairs.Count)];
            errors.Add(StepChecks.AssertPreserves(net, new AddSkipStep(from, to), seed));
        }
        output.WriteLine($"skip, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Fact]
    public void TheSkipIsAMorphedLayerRightAfterToWithAZeroProjection()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu conv(6,3) relu gap dense(3)");
        var outcome = new AddSkipStep("relu1", "conv2").Apply(net, RandomNetworks.Weights(net, 1));

        Assert.Equal("input(3,8,8) conv(4,3) relu conv(6,3) conv2_skip:skip(relu1)* relu gap dense(3)", outcome.Network.ToString());
        var projection = outcome.Weights["conv2_skip.weight"];
        Assert.Equal([6L, 4, 1, 1], projection.Shape.ToArray());
        Assert.All(projection.Values.ToArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void VectorBlobsGetADenseProjectionAndSkipNamesStayUnique()
    {
        var net = NetworkDescription.Parse("input(5) dense(4) relu dense(6) relu dense(3)");
        var weights = RandomNetworks.Weights(net, 2);
        var once = new AddSkipStep("input", "dense2").Apply(net, weights);
        var twice = new AddSkipStep("relu1", "dense2").Apply(once.Network, once.Weights);

        Assert.Equal("input(5) dense(4) relu dense(6) dense2_skip_2:skip(relu1)* dense2_skip:skip(input)* relu dense(3)", twice.Network.ToString());
        Assert.Equal([6L, 4], twice.Weights["dense2_skip_2.weight"].Shape.ToArray());
        StepChecks.AssertPreserves(net, new AddSkipStep("input", "dense2"), seed: 2);
    }

    [Theory]
    [InlineData("relu2", "relu1", "'relu2' is not earlier than 'relu1'")]
    [InlineData("conv1", "conv1", "'conv1' is not earlier than 'conv1'")]
    [InlineData("conv9", "relu2", "no layer named 'conv9'")]
    [InlineData("conv1", "conv9", "no layer named 'conv9'")]
    [InlineData("conv1", "conv2", "'conv2' is inside parallel block 'parallel1'")]
    [InlineData("conv3", "relu2", "'conv3' is inside parallel block 'parallel1'")]
    [InlineData("conv1", "gap1", "'conv1' gives an image blob 4×8×8 but 'gap1' gives a vector of 5")]
    [InlineData("input", "maxpool1", "'input' gives 3×8×8 but 'maxpool1' gives 5×4×4")]
    public void InvalidSkipsAreRejectedNamingTheLayersAndTheValidChoices(string from, string to, string reason)
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu parallel(conv(5,3) | conv(5,1)) relu maxpool(2) gap dense(3)");
        var error = Assert.Throws<ArgumentException>(() => new AddSkipStep(from, to).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void RejectionsOfTheSourceListTheSourcesBeforeTo()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu conv(4,3) relu gap dense(3)");
        var error = Assert.Throws<ArgumentException>(() => new AddSkipStep("relu2", "conv2").Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains("Sources before 'conv2': input, conv1, relu1.", error.Message);
    }

    [Fact]
    public void TextFormIsSkipWithFromAndTo() =>
        Assert.Equal("skip(conv1, conv3)", new AddSkipStep("conv1", "conv3").ToString());
}
