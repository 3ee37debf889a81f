// Specification of the width morph: exact, alive new units, growth through every layer kind, clear rejections.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class WidenTests(ITestOutputHelper output)
{
    [Fact]
    public void WideningAnyWidenableLayerOfRandomNetworksPreservesTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; errors.Count < 48; seed++)
        {
            var random = new Random(1000 + seed);
            var net = StepChecks.Network(seed);
            var candidates = WidenStep.WidenableLayers(net);
            if (candidates.Count == 0)
                continue; // e.g. one parallel block straight into the logits: nothing absorbs new units
            var layer = candidates[random.Next(candidates.Count)];
            var step = new WidenStep(layer, net.Shapes[layer].Output.Channels + random.Next(1, 7));
            errors.Add(StepChecks.AssertPreserves(net, step, seed));
        }
        output.WriteLine($"widen, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Fact]
    public void WidenableLayersAreEveryConvAndDenseExceptTheLogitsAndLoneBranchConvs()
    {
        for (int seed = 0; seed < 40; seed++)
        {
            var net = StepChecks.Network(seed);
            var inBranches = net.Layers.OfType<ParallelLayer>().SelectMany(p => p.Branches.SelectMany(b => b)).Select(l => l.Name).ToHashSet();
            var expected = net.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).Select(l => l.Name)
                .Where(n => n != "logits" && !inBranches.Contains(n));
            Assert.Equal(expected, WidenStep.WidenableLayers(net));
        }
    }

    [Theory]
    [InlineData("input(3,8,8) conv(4,3) parallel(conv(5,3) relu conv(6,1) | conv(6,3)) relu gap dense(3)", "conv2")]
    [InlineData("input(3,8,8) conv(4,3) bn prelu parallel(conv(5,3) | conv(5,1) relu conv(5,3)) relu gap dense(3)", "conv1")]
    [InlineData("input(3,8,8) conv(4,3) parallel(relu | tanh | bn) conv(5,3) gap dense(3)", "conv1")]
    [InlineData("input(3,8,8) conv(4,3) relu conv(4,3) relu skip(relu1) gap dense(3)", "conv1")]
    [InlineData("input(3,8,8) conv(4,3) relu conv(4,3) skip(relu1) relu conv(3,1) gap dense(3)", "conv1")]
    [InlineData("input(3,8,8) conv(4,3) skip(input) elu conv(5,3) gap dense(3)", "conv1")]
    [InlineData("input(3,8,8) conv(4,3) relu skip(relu1) skip(conv1) conv(5,3) gap dense(3)", "conv1")]
    [InlineData("input(2,9,9) conv(4,3,stride=2) bn gelu avgpool(2,pad=1) dropout(0.3) flatten dense(6) sigmoid dense(3)", "conv1")]
    [InlineData("input(2,9,9) conv(4,3) maxpool(3,stride=2) flatten dense(6) relu dense(3)", "dense1")]
    [InlineData("input(7) dense(5) bn ptanh dropout(0.5) dense(4) skip(dense1) relu dense(3)", "dense1")]
    public void WideningPreservesTheFunctionAcrossBranchesSkipsAndHeads(string text, string layer)
    {
        var net = NetworkDescription.Parse(text);
        var errors = StepChecks.AssertPreserves(net, new WidenStep(layer, net.Shapes[layer].Output.Channels + 3), seed: 7);
        output.WriteLine($"widen({layer}) on {text}: {errors}");
    }

    [Fact]
    public void FlattenGivesTheNewChannelsZeroColumnsAfterTheOldOnes()
    {
        var net = NetworkDescription.Parse("input(2,5,5) conv(3,3) relu flatten dense(4)");
        var weights = RandomNetworks.Weights(net, 1);
        var child = new WidenStep("conv1", 5).Apply(net, weights).Weights["dense1.weight"];

        Assert.Equal([4L, 5 * 25], child.Shape.ToArray());
        var parent = weights["dense1.weight"].Values;
        for (int row = 0; row < 4; row++)
        {
            Assert.True(child.Values.Slice(row * 125, 75).SequenceEqual(parent.Slice(row * 75, 75)), $"row {row}: old columns moved");
            Assert.All(child.Values.Slice(row * 125 + 75, 50).ToArray(), v => Assert.Equal(0.0, v));
        }
    }

    [Fact]
    public void NewBatchNormChannelsNormaliseWithMeanZeroVarianceOneScaleOneShiftZero()
    {
        var net = NetworkDescription.Parse("input(3,6,6) conv(4,3) bn relu conv(2,3) gap dense(3)");
        var weights = RandomNetworks.Weights(net, 2);
        var child = new WidenStep("conv1", 6).Apply(net, weights).Weights;

        foreach (var (parameter, value) in new[] { ("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0) })
        {
            var grown = child[$"bn1.{parameter}"].Values;
            Assert.True(grown[..4].SequenceEqual(weights[$"bn1.{parameter}"].Values), $"bn1.{parameter}: old channels changed");
            Assert.Equal([value, value], grown[4..].ToArray());
        }
    }

    [Fact]
    public void NewUnitsGetRandomIncomingWeightsOfTheLayersScaleAndZeroBias()
    {
        var net = NetworkDescription.Parse("input(3,6,6) conv(8,3) relu conv(2,3) gap dense(3)");
        var weights = RandomNetworks.Weights(net, 3, Precision.Float64);
        var child = new WidenStep("conv1", 40).Apply(net, weights).Weights;

        var incoming = child["conv1.weight"].Values[(8 * 27)..].ToArray();
        double Rms(IEnumerable<double> v) => Math.Sqrt(v.Average(x => x * x));
        Assert.All(incoming, v => Assert.NotEqual(0.0, v));
        Assert.InRange(Rms(incoming) / Rms(weights["conv1.weight"].Values.ToArray()), 0.85, 1.15);
        Assert.All(child["conv1.bias"].Values[8..].ToArray(), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void TheSameSeedGivesIdenticalChildrenAndAnotherSeedOtherNewWeights()
    {
        var net = NetworkDescription.Parse("input(5) dense(4) relu dense(2)");
        var weights = RandomNetworks.Weights(net, 4);
        var step = new WidenStep("dense1", 7);

        var a = step.Apply(net, weights, new MorphContext(seed: 11)).Weights["dense1.weight"].Values.ToArray();
        var b = step.Apply(net, weights, new MorphContext(seed: 11)).Weights["dense1.weight"].Values.ToArray();
        var c = step.Apply(net, weights, new MorphContext(seed: 12)).Weights["dense1.weight"].Values.ToArray();

        Assert.Equal(a, b);
        Assert.NotEqual(a[20..], c[20..]);
    }

    [Theory]
    [InlineData("relu")]
    [InlineData("tanh")]
    [InlineData("gelu")]
    public void NewUnitsOutgoingWeightsReceiveGradientOnTheFirstStep(string activation)
    {
        var net = NetworkDescription.Parse($"input(3,8,8) conv(4,3) bn {activation} conv(5,3) {activation} gap dense(3)");
        var child = new WidenStep("conv1", 7).Apply(net, RandomNetworks.Weights(net, 5));
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(child.Network, child.Weights);
        module.train();
        var x = randn([16, 3, 8, 8], generator: new Generator(6));
        var labels = randint(0, 3, [16], dtype: ScalarType.Int64, generator: new Generator(7));

        nn.functional.cross_entropy(module.forward(x), labels).backward();

        var gradient = module.named_parameters().Single(p => p.name == "conv2.weight").parameter.grad!;
        var newColumns = gradient[.., 4..];
        Assert.True(newColumns.abs().max().item<float>() > 1e-6, "the zero outgoing weights of the new channels got no gradient");
        Assert.True(newColumns.abs().sum(dim: [0, 2, 3]).gt(0).all().item<bool>(), "some new channel got no gradient at all");
    }

    [Fact]
    public void TrainingMovesTheNewUnitsIncomingAndOutgoingWeights()
    {
        var net = NetworkDescription.Parse("input(2,6,6) conv(3,3) relu flatten dense(6) relu dense(3)");
        var child = new WidenStep("dense1", 10).Apply(net, RandomNetworks.Weights(net, 8));
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(child.Network, child.Weights);
        module.train();
        var optimizer = optim.SGD(module.parameters(), learningRate: 0.1);
        var x = randn([32, 2, 6, 6], generator: new Generator(9));
        var labels = randint(0, 3, [32], dtype: ScalarType.Int64, generator: new Generator(10));
        for (int step = 0; step < 5; step++)
        {
            optimizer.zero_grad();
            nn.functional.cross_entropy(module.forward(x), labels).backward();
            optimizer.step();
        }
        var trained = module.ReadWeights();

        var incomingBefore = child.Weights["dense1.weight"].Values[(6 * 108)..].ToArray();
        var incomingAfter = trained["dense1.weight"].Values[(6 * 108)..].ToArray();
        Assert.True(incomingBefore.Zip(incomingAfter).Any(p => p.First != p.Second), "incoming weights of the new units did not move");
        var outgoing = Enumerable.Range(0, 3).SelectMany(row => trained["dense2.weight"].Values.Slice(row * 10 + 6, 4).ToArray());
        Assert.Contains(outgoing, v => v != 0);
    }

    [Theory]
    [InlineData("input(3,6,6) conv(4,3) relu gap dense(3)", "conv9", "no layer named 'conv9'")]
    [InlineData("input(3,6,6) conv(4,3) relu gap dense(3)", "relu1", "only convolutions and dense layers")]
    [InlineData("input(3,6,6) conv(4,3) relu gap dense(3)", "dense1", "network output")]
    [InlineData("input(3,6,6) conv(4,3,groups=1) conv(4,3,groups=2) relu gap dense(3)", "conv2", "grouped convolution (groups=2)")]
    [InlineData("input(3,6,6) conv(4,3) conv(4,3,groups=2) relu gap dense(3)", "conv1", "feeds grouped convolution 'conv2'")]
    [InlineData("input(3,6,6) conv(4,3) parallel(conv(4,3) | conv(4,1)) relu gap dense(3)", "conv2", "inside a branch of parallel block 'parallel1'")]
    [InlineData("input(3,6,6) conv(4,3) parallel(relu | conv(4,1)) relu gap dense(3)", "conv1", "branch 1 of parallel block 'parallel1'")]
    public void InvalidWideningIsRejectedNamingTheLayerAndTheWidenableOnes(string text, string layer, string reason)
    {
        var net = NetworkDescription.Parse(text);
        var error = Assert.Throws<ArgumentException>(() => new WidenStep(layer, 16).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains($"'{layer}'", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.Contains("can be widened:", error.Message);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    public void ShrinkingOrKeepingTheWidthIsRejected(int newWidth)
    {
        var net = NetworkDescription.Parse("input(3,6,6) conv(4,3) relu gap dense(3)");
        var error = Assert.Throws<ArgumentException>(() => new WidenStep("conv1", newWidth).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains("'conv1' already has 4 channels", error.Message);
        Assert.Contains("shrinking", error.Message);
    }

    [Fact]
    public void TextFormIsWidenWithLayerAndWidth() =>
        Assert.Equal("widen(conv1, 32)", new WidenStep("conv1", 32).ToString());
}
