// Specification of DeepenStep itself: the child's layout, names, text and JSON forms, invalid requests, training.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class DeepenStepTests
{
    private static readonly NetworkDescription Cnn = NetworkDescription.Parse(
        "input(3,10,10) conv(8,3) bn tanh conv(8,3,stride=2) relu flatten dense(6) sigmoid dense(3)");

    private static MorphOutcome Deepen(NetworkDescription network, DeepenStep step, int seed = 1) =>
        step.Apply(network, RandomNetworks.Weights(network, seed, Precision.Float64), new MorphContext(seed));

    [Fact]
    public void SplitLayerKeepsItsNameAndTakesAllPaddingThenActivationThenNewLayerWithTheStride()
    {
        var outcome = Deepen(Cnn, new DeepenStep("conv2", KernelSize: 3));

        var layers = outcome.Network.Layers;
        Assert.Equal(new Conv2dLayer("conv2", 26, 3, Stride: 1, Padding: 2), layers[3]); // automatic width: 10 % above 23
        Assert.Equal(new ActivationLayer("conv2_d1_act", ActivationKind.ReLU, Parametric: true) { Morphed = true }, layers[4]);
        Assert.Equal(new Conv2dLayer("conv2_d1", 8, 3, Stride: 2, Padding: 0) { Morphed = true }, layers[5]);
        Assert.IsType<ActivationLayer>(layers[6]);
        Assert.Equal(Cnn.Output, outcome.Network.Output);
        Assert.Equal(Cnn.Shapes["conv2"].Output, outcome.Network.Shapes["conv2_d1"].Output);
    }

    [Fact]
    public void SplitLayerBiasIsZeroAndTheNewLayerCarriesTheOriginalBias()
    {
        var weights = RandomNetworks.Weights(Cnn, 4, Precision.Float64);

        var outcome = new DeepenStep("conv1").Apply(Cnn, weights);

        Assert.All(outcome.Weights["conv1.bias"].Values.ToArray(), b => Assert.Equal(0.0, b));
        Assert.Equal(weights["conv1.bias"].Values.ToArray(), outcome.Weights["conv1_d1.bias"].Values.ToArray());
        Assert.Equal([1.0], outcome.Weights["conv1_d1_act.a"].Values.ToArray());
    }

    [Fact]
    public void WhatFollowedTheLayerFollowsTheNewLayer()
    {
        var outcome = Deepen(Cnn, new DeepenStep("conv1"));

        Assert.Equal(["conv1", "conv1_d1_act", "conv1_d1", "bn1", "tanh1"], outcome.Network.Layers.Take(5).Select(l => l.Name));
    }

    [Theory]
    [InlineData("conv1", null, ActivationKind.TanH)]       // conv bn tanh: the activation after the BatchNorm
    [InlineData("conv2", null, ActivationKind.ReLU)]
    [InlineData("dense1", null, ActivationKind.Sigmoid)]
    [InlineData("dense2", null, ActivationKind.ReLU)]      // nothing follows: ReLU
    [InlineData("conv1", ActivationKind.ELU, ActivationKind.ELU)]
    public void InsertedActivationIsTheRequestedKindElseTheOneFollowingTheLayerElseReLU(string layer, ActivationKind? requested, ActivationKind expected)
    {
        var outcome = Deepen(Cnn, new DeepenStep(layer, Activation: requested));

        var activation = Assert.IsType<ActivationLayer>(outcome.Network[$"{layer}_d1_act"]);
        Assert.Equal(expected, activation.Activation);
        Assert.True(activation.Parametric);
    }

    [Fact]
    public void LayerInsideAParallelBranchIsDeepenedInItsBranch()
    {
        var network = NetworkDescription.Parse("input(2,8,8) parallel(conv(4,3) bn relu | conv(4,1)) gap dense(3)");
        var weights = RandomNetworks.Weights(network, 2, Precision.Float64);
        var (text, values) = (network.ToString(), Preservation.Snapshot(weights));

        var outcome = new DeepenStep("conv1", 3).Apply(network, weights, new MorphContext(2));

        var block = Assert.IsType<ParallelLayer>(outcome.Network.Layers[0]);
        Assert.Equal(["conv1", "conv1_d1_act", "conv1_d1", "bn1", "relu1"], block.Branches[0].Select(l => l.Name));
        Preservation.AssertPreserved(network, weights, text, values, outcome.Network, outcome.Weights, [outcome], chain: false, seed: 2);
    }

    [Fact]
    public void SkipFromTheDeepenedLayerReadsTheNewLayer()
    {
        var network = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu skip(conv1) flatten dense(2)");
        var weights = RandomNetworks.Weights(network, 3, Precision.Float64);
        var (text, values) = (network.ToString(), Preservation.Snapshot(weights));

        var outcome = new DeepenStep("conv1", 3).Apply(network, weights, new MorphContext(3));

        Assert.Equal("conv1_d1", outcome.Network.AllLayers().OfType<SkipLayer>().Single().From);
        Preservation.AssertPreserved(network, weights, text, values, outcome.Network, outcome.Weights, [outcome], chain: false, seed: 3);
    }

    [Fact]
    public void SecondDeepenOfTheSameLayerGetsTheNextFreeNames()
    {
        var weights = RandomNetworks.Weights(Cnn, 5, Precision.Float64);
        var (text, values) = (Cnn.ToString(), Preservation.Snapshot(weights));

        var chain = new MorphPlan().Deepen("conv1").Deepen("conv1", kernelSize: 3).Apply(Cnn, weights, new MorphContext(5));

        Assert.Equal(["conv1", "conv1_d2_act", "conv1_d2", "conv1_d1_act", "conv1_d1", "bn1"], chain.Network.Layers.Take(6).Select(l => l.Name));
        Preservation.AssertPreserved(Cnn, weights, text, values, chain.Network, chain.Weights, chain.Steps, chain: true, seed: 5);
    }

    [Fact]
    public void NamesTakenByOtherLayersAreSkipped()
    {
        var network = NetworkDescription.Parse("input(4) dense(5) dense1_d1_act:relu dense(2)");

        var outcome = Deepen(network, new DeepenStep("dense1"));

        Assert.Equal(["dense1", "dense1_d2_act", "dense1_d2", "dense1_d1_act", "dense2"], outcome.Network.Layers.Select(l => l.Name));
    }

    [Fact]
    public void SameSeedGivesBitIdenticalChildrenAndAnotherSeedDifferent()
    {
        var weights = RandomNetworks.Weights(Cnn, 6);

        var a = new DeepenStep("conv2", 3).Apply(Cnn, weights, new MorphContext(7));
        var b = new DeepenStep("conv2", 3).Apply(Cnn, weights, new MorphContext(7));
        var c = new DeepenStep("conv2", 3).Apply(Cnn, weights, new MorphContext(8));

        Assert.Equal(a.Weights["conv2_d1.weight"].Values.ToArray(), b.Weights["conv2_d1.weight"].Values.ToArray());
        Assert.Equal(a.Weights["conv2.weight"].Values.ToArray(), b.Weights["conv2.weight"].Values.ToArray());
        Assert.NotEqual(a.Weights["conv2_d1.weight"].Values.ToArray(), c.Weights["conv2_d1.weight"].Values.ToArray());
    }

    [Theory]
    [InlineData(8, 3, 1, 8)]    // 3×3 then 1×1: C_l = C_j
    [InlineData(8, 3, 3, 26)]   // 3×3 then 3×3: ⌈1.1·⌈25/9·C_j⌉⌉, 10 % clear of the nearly square system at 23
    [InlineData(8, 5, 3, 18)]   // 5×5 then 3×3: ⌈1.1·⌈49/25·C_j⌉⌉ (16 is the count)
    public void AutomaticWidthFollowsTheSolvabilityCondition(int channels, int kernel, int newKernel, int expected)
    {
        var network = NetworkDescription.Parse($"input({channels},6,6) conv({channels},{kernel}) relu gap dense(2)");

        var outcome = Deepen(network, new DeepenStep("conv1", newKernel));

        Assert.Equal(expected, outcome.Solver!.Width);
        Assert.Equal(expected, ((DeepenStep)outcome.Step).Width);
        Assert.Equal(DeepenStep.NetMorphDenseMethod, outcome.Solver.Method);
    }

    [Fact]
    public void IdMorphWidthDefaultsToTheLayersOutputs()
    {
        var outcome = Deepen(Cnn, new DeepenStep("conv2", 3, Method: DeepenMethod.IdMorph));

        Assert.Equal(8, outcome.Solver!.Width);
        Assert.Equal(DeepenStep.IdMorphMethod, outcome.Solver.Method);
        Assert.Equal(0.0, outcome.Solver.Residual);
    }

    [Theory]
    [InlineData("conv2", 1, null, null, DeepenMethod.NetMorph, "deepen(conv2)")]
    [InlineData("conv2", 3, null, null, DeepenMethod.NetMorph, "deepen(conv2, kernel=3)")]
    [InlineData("conv2", 1, 48, null, DeepenMethod.NetMorph, "deepen(conv2, width=48)")]
    [InlineData("dense1", 1, null, ActivationKind.TanH, DeepenMethod.NetMorph, "deepen(dense1, activation=tanh)")]
    [InlineData("conv2", 1, null, null, DeepenMethod.IdMorph, "deepen(conv2, method=idmorph)")]
    [InlineData("c", 5, 9, ActivationKind.GELU, DeepenMethod.IdMorph, "deepen(c, kernel=5, width=9, activation=gelu, method=idmorph)")]
    public void TextFormNamesTheLayerAndOnlyTheNonDefaults(string after, int kernel, int? width, ActivationKind? activation, DeepenMethod method, string expected)
    {
        Assert.Equal(expected, new DeepenStep(after, kernel, width, activation, method).ToString());
    }

    [Fact]
    public void StepsRoundTripThroughThePlanJson()
    {
        var plan = new MorphPlan()
            .Deepen("conv2")
            .Deepen("conv1", kernelSize: 3, width: 30, activation: ActivationKind.ELU)
            .Deepen("dense1", method: DeepenMethod.IdMorph);

        var json = plan.ToJson();
        var back = MorphPlan.FromJson(json);

        Assert.Contains("\"morph\":\"deepen\"", json);
        Assert.Equal(plan.Steps, back.Steps);
        Assert.Equal(plan.ToString(), back.ToString());
    }

    [Fact]
    public void FluentDeepenAppendsTheStep()
    {
        var plan = new MorphPlan().Deepen("conv1", kernelSize: 3, width: 12, activation: ActivationKind.TanH, method: DeepenMethod.IdMorph);

        Assert.Equal(new DeepenStep("conv1", 3, 12, ActivationKind.TanH, DeepenMethod.IdMorph), Assert.Single(plan.Steps));
    }

    [Theory]
    [InlineData("nope", 1, null, DeepenMethod.NetMorph, "conv1, conv2, dense1, dense2")]  // unknown layer: lists the valid choices
    [InlineData("bn1", 1, null, DeepenMethod.NetMorph, "conv1, conv2, dense1, dense2")]   // not conv/dense
    [InlineData("conv1", 2, null, DeepenMethod.NetMorph, "odd and positive")]
    [InlineData("conv1", 0, null, DeepenMethod.NetMorph, "odd and positive")]
    [InlineData("conv1", -1, null, DeepenMethod.NetMorph, "odd and positive")]
    [InlineData("dense1", 3, null, DeepenMethod.NetMorph, "kernel must be 1")]
    [InlineData("conv1", 3, 5, DeepenMethod.NetMorph, "at least 8")]
    [InlineData("conv1", 1, 7, DeepenMethod.IdMorph, "at least its 8 outputs")]
    [InlineData("conv1", 1, 0, DeepenMethod.NetMorph, "must be positive")]
    public void InvalidRequestsAreRejectedNamingTheLayer(string layer, int kernel, int? width, DeepenMethod method, string hint)
    {
        var weights = RandomNetworks.Weights(Cnn, 1);

        var error = Assert.Throws<ArgumentException>(() => new DeepenStep(layer, kernel, width, Method: method).Apply(Cnn, weights));

        Assert.Contains($"'{layer}'", error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Theory]
    [InlineData("input(4,8,8) conv(4,3,dilation=2) relu gap dense(2)", "dilat")]
    [InlineData("input(4,8,8) conv(4,3,groups=2) relu gap dense(2)", "group")]
    public void DilatedAndGroupedConvolutionsAreRejected(string text, string hint)
    {
        var network = NetworkDescription.Parse(text);

        var error = Assert.Throws<ArgumentException>(() => new DeepenStep("conv1").Apply(network, RandomNetworks.Weights(network, 1)));

        Assert.Contains("'conv1'", error.Message);
        Assert.Contains(hint, error.Message);
    }

    [Fact]
    public void TrainingMovesTheInsertedActivationAwayFromTheIdentityAndKeepsItInTheUnitInterval()
    {
        var network = NetworkDescription.Parse("input(3,8,8) conv(6,3) relu gap dense(4)");
        var outcome = new DeepenStep("conv1", 3).Apply(network, RandomNetworks.Weights(network, 1), new MorphContext(1));
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(outcome.Network, outcome.Weights);
        module.train();
        using var optimizer = optim.SGD(module.parameters(), learningRate: 0.5);
        using var generator = new Generator(3);

        for (int step = 0; step < 10; step++)
        {
            using var stepScope = NewDisposeScope();
            var x = randn([16, 3, 8, 8], generator: generator);
            var labels = randint(0, 4, [16], generator: generator);
            optimizer.zero_grad();
            nn.functional.cross_entropy(module.forward(x), labels).backward();
            optimizer.step();
            module.ClampActivations();
        }

        double a = module.ActivationLinearity()["conv1_d1_act"];
        Assert.InRange(a, 0.0, 1.0 - 1e-4);
    }
}
