// Specification of the parallel subnet morph: G = F1 + F2 with both branches dense, aligned and exact.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class AddBranchTests(ITestOutputHelper output)
{
    [Fact]
    public void BranchingAnyConvOrDenseLayerOfRandomNetworksPreservesTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 48; seed++)
        {
            var random = new Random(3000 + seed);
            var net = StepChecks.Network(seed);
            var layers = net.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).ToList();
            var layer = layers[random.Next(layers.Count)];
            int kernel = layer is Conv2dLayer conv ? StepChecks.AlignableKernels(conv)[random.Next(StepChecks.AlignableKernels(conv).Count)] : 1;
            errors.Add(StepChecks.AssertPreserves(net, new AddBranchStep(layer.Name, kernel), seed));
        }
        output.WriteLine($"branch, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Theory]
    [InlineData("input(3,9,9) conv(4,3,stride=2) bn relu gap dense(3)", 1)]
    [InlineData("input(3,9,9) conv(4,3,stride=2) bn relu gap dense(3)", 5)]
    [InlineData("input(3,9,9) conv(4,3,pad=0) relu flatten dense(3)", 3)]
    [InlineData("input(3,9,9) conv(4,3,pad=0) relu flatten dense(3)", 5)]
    [InlineData("input(3,12,12) conv(4,3,dilation=2) relu gap dense(3)", 1)]
    [InlineData("input(4,8,8) conv(6,3,groups=2) relu gap dense(3)", 1)]
    [InlineData("input(3,8,8) conv(4,2) relu flatten dense(3)", 4)]
    [InlineData("input(3,8,8) conv(4,3,bias=false) relu gap dense(3)", 1)]
    public void BranchingPreservesStridedValidDilatedGroupedEvenAndBiasFreeConvolutions(string text, int kernel)
    {
        var net = NetworkDescription.Parse(text);
        var errors = StepChecks.AssertPreserves(net, new AddBranchStep("conv1", kernel), seed: 4);
        output.WriteLine($"branch(conv1, {kernel}) on {text}: {errors}");
    }

    [Fact]
    public void ATopLevelLayerBecomesANamedBlockOfItselfAndANewMorphedBranch()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu gap dense(3)");
        var child = new AddBranchStep("conv1").Apply(net, RandomNetworks.Weights(net, 1)).Network;

        Assert.Equal("input(3,8,8) conv1_par:parallel(conv(4,3) | conv1_br1:conv(4,1)*)* relu gap dense(3)", child.ToString());
    }

    [Fact]
    public void SkipsThatReadTheBranchedLayerReadItsBlockInstead()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu conv(4,3) skip(conv1) relu gap dense(3)");
        var child = new AddBranchStep("conv1").Apply(net, RandomNetworks.Weights(net, 6)).Network;

        Assert.Equal("input(3,8,8) conv1_par:parallel(conv(4,3) | conv1_br1:conv(4,1)*)* relu conv2:conv(4,3) skip(conv1_par) relu gap dense(3)", child.ToString());
        StepChecks.AssertPreserves(net, new AddBranchStep("conv1"), seed: 6);
    }

    [Fact]
    public void ALayerAloneInABranchGetsASiblingBranchInsteadOfANestedBlock()
    {
        var net = NetworkDescription.Parse("input(3,8,8) parallel(conv(4,3) | conv(4,1)) relu gap dense(3)");
        var weights = RandomNetworks.Weights(net, 2);

        var once = new AddBranchStep("conv1", 3).Apply(net, weights);
        var twice = new AddBranchStep("conv1", 5).Apply(once.Network, once.Weights);

        Assert.Equal("input(3,8,8) parallel(conv(4,5) | conv(4,1) | conv1_br1:conv(4,3)* | conv1_br2:conv(4,5)*) relu gap dense(3)", twice.Network.ToString());
        StepChecks.AssertPreserves(net, new AddBranchStep("conv1", 3), seed: 2);
    }

    [Fact]
    public void ALayerAmongOthersInABranchIsReplacedByANestedBlock()
    {
        var net = NetworkDescription.Parse("input(3,8,8) parallel(conv(4,3) relu conv(4,3) | conv(4,1)) relu gap dense(3)");
        var outcome = new AddBranchStep("conv2").Apply(net, RandomNetworks.Weights(net, 3));

        Assert.Equal("input(3,8,8) parallel(conv(4,3) relu conv2_par:parallel(conv(4,3) | conv2_br1:conv(4,1)*)* | conv3:conv(4,1)) relu gap dense(3)", outcome.Network.ToString());
        StepChecks.AssertPreserves(net, new AddBranchStep("conv2"), seed: 3);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(5)]
    public void BothBranchesAreFullyNonZeroAndG_sBiasStaysOnTheFirst(int kernel)
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu gap dense(3)");
        var weights = RandomNetworks.Weights(net, 4);
        var child = new AddBranchStep("conv1", kernel).Apply(net, weights).Weights;

        Assert.All(child["conv1.weight"].Values.ToArray(), v => Assert.NotEqual(0.0, v));
        Assert.All(child["conv1_br1.weight"].Values.ToArray(), v => Assert.NotEqual(0.0, v));
        Assert.Equal(weights["conv1.bias"].Values.ToArray(), child["conv1.bias"].Values.ToArray());
        Assert.All(child["conv1_br1.bias"].Values.ToArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void DenseLayersSplitIntoTwoDenseBranches()
    {
        var net = NetworkDescription.Parse("input(6) dense(5) tanh dense(3)");
        var outcome = new AddBranchStep("dense1").Apply(net, RandomNetworks.Weights(net, 5));

        Assert.Equal("input(6) dense1_par:parallel(dense(5) | dense1_br1:dense(5)*)* tanh dense2:dense(3)", outcome.Network.ToString());
        StepChecks.AssertPreserves(net, new AddBranchStep("dense1"), seed: 5);
    }

    [Theory]
    [InlineData("input(3,8,8) conv(4,3) relu gap dense(3)", "conv9", 1, "no layer named 'conv9'")]
    [InlineData("input(3,8,8) conv(4,3) relu gap dense(3)", "relu1", 1, "only convolutions and dense layers can branch")]
    [InlineData("input(3,8,8) conv(4,3,pad=0) relu gap dense(3)", "conv1", 1, "negative padding")]
    [InlineData("input(3,8,8) conv(4,3) relu gap dense(3)", "conv1", 2, "differ from it by an even number")]
    [InlineData("input(3,8,8) conv(4,3) relu gap dense(3)", "conv1", 0, "must be positive")]
    [InlineData("input(3,8,8) conv(4,3) relu gap dense(3)", "dense1", 3, "has no kernel")]
    public void InvalidBranchingIsRejectedNamingTheLayerAndTheValidChoices(string text, string layer, int kernel, string reason)
    {
        var net = NetworkDescription.Parse(text);
        var error = Assert.Throws<ArgumentException>(() => new AddBranchStep(layer, kernel).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains($"'{layer}'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void NegativePaddingRejectionNamesTheSmallestAlignableKernel()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,5,pad=1) relu gap dense(3)");
        var error = Assert.Throws<ArgumentException>(() => new AddBranchStep("conv1", 1).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains("padding -1", error.Message);
        Assert.Contains("at least 3", error.Message);
    }

    [Fact]
    public void TextFormOmitsTheDefaultKernel()
    {
        Assert.Equal("branch(conv2)", new AddBranchStep("conv2").ToString());
        Assert.Equal("branch(conv2, 3)", new AddBranchStep("conv2", 3).ToString());
    }
}
