// Specification of the BatchNorm morph: identity in eval mode, and near-identity in train mode when fitted to a sample.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class InsertBatchNormTests(ITestOutputHelper output)
{
    private const string ShiftedNet = "input(3,8,8) conv(4,3) relu conv(5,3) gap dense(3)";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void InsertingAfterAnyLayerOfRandomNetworksIsExactInEvalMode(bool withSample)
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 32; seed++)
        {
            var random = new Random(5000 + seed);
            var net = StepChecks.Network(seed);
            var layers = net.AllLayers().ToList();
            var after = layers[random.Next(layers.Count)].Name;
            var sample = withSample ? StepChecks.Inputs(net, 8, seed, scale: 2, shift: 1) : null;
            errors.Add(StepChecks.AssertPreserves(net, new InsertBatchNormStep(after), seed, sample));
        }
        output.WriteLine($"bn ({(withSample ? "with" : "without")} sample), {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Fact]
    public void WithASampleTheTrainModeOutputOnThatSampleIsItsInput()
    {
        using var scope = NewDisposeScope();
        var (child, sample) = MorphShiftedNet(withSample: true);
        var (input, normalised) = TrainModeBlobs(child, sample);

        double relative = (normalised - input).abs().max().item<float>() / input.abs().max().item<float>();
        output.WriteLine($"train-mode rel change with sample statistics: {relative:E2}");
        Assert.True(relative <= 1e-5, $"train-mode BatchNorm moved its input by {relative:E2} (relative)");
    }

    [Fact]
    public void WithoutASampleTheTrainModeOutputIsFarFromItsInputWhenTheBlobIsNotStandardised()
    {
        using var scope = NewDisposeScope();
        var (child, sample) = MorphShiftedNet(withSample: false);
        var (input, normalised) = TrainModeBlobs(child, sample);

        double relative = (normalised - input).abs().max().item<float>() / input.abs().max().item<float>();
        output.WriteLine($"train-mode rel change with default statistics: {relative:E2}");
        Assert.True(relative > 0.5, $"expected a large train-mode jump without data, got {relative:E2}");
    }

    [Fact]
    public void WithoutASampleTheStatisticsAreZeroMeanUnitVarianceAndScaleSqrtOnePlusEpsilon()
    {
        var net = NetworkDescription.Parse("input(5) dense(3) relu dense(2)");
        var weights = new InsertBatchNormStep("dense1").Apply(net, RandomNetworks.Weights(net, 1, Precision.Float64)).Weights;

        Assert.Equal(new double[3], weights["dense1_bn.running_mean"].Values.ToArray());
        Assert.Equal([1.0, 1.0, 1.0], weights["dense1_bn.running_var"].Values.ToArray());
        Assert.Equal(Enumerable.Repeat(Math.Sqrt(1 + 1e-5), 3), weights["dense1_bn.weight"].Values.ToArray());
        Assert.Equal(new double[3], weights["dense1_bn.bias"].Values.ToArray());
    }

    [Fact]
    public void TheBatchNormIsAMorphedLayerRightAfterTheNamedOneEvenInsideABranch()
    {
        var net = NetworkDescription.Parse("input(3,8,8) parallel(conv(4,3) relu | conv(4,1)) relu gap dense(3)");
        var child = new InsertBatchNormStep("conv1").Apply(net, RandomNetworks.Weights(net, 1)).Network;

        Assert.Equal("input(3,8,8) parallel(conv(4,3) conv1_bn:bn* relu | conv(4,1)) relu gap dense(3)", child.ToString());
        StepChecks.AssertPreserves(net, new InsertBatchNormStep("conv1"), seed: 1, StepChecks.Inputs(net, 4, 1));
    }

    [Fact]
    public void AnUnknownLayerIsRejectedListingTheLayers()
    {
        var net = NetworkDescription.Parse("input(5) dense(3) relu dense(2)");
        var error = Assert.Throws<ArgumentException>(() => new InsertBatchNormStep("dense9").Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains("no layer named 'dense9'. Layers: dense1, relu1, dense2.", error.Message);
    }

    [Fact]
    public void ASampleOfTheWrongShapeIsRejected()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) relu gap dense(3)");
        var sample = StepChecks.Inputs(NetworkDescription.Parse("input(3,6,6) gap"), 4, 1);
        var error = Assert.Throws<ArgumentException>(() => new InsertBatchNormStep("conv1").Apply(net, RandomNetworks.Weights(net, 1), new MorphContext(0, sample)));
        Assert.Contains("bn(conv1)", error.Message);
        Assert.Contains("[4, 3, 6, 6]", error.Message);
    }

    [Fact]
    public void TextFormIsBnWithTheLayer() =>
        Assert.Equal("bn(conv2)", new InsertBatchNormStep("conv2").ToString());

    /// <summary>A BatchNorm after a conv whose outputs have mean around 4, with or without the sample's statistics.</summary>
    private static (MorphOutcome Child, WeightTensor Sample) MorphShiftedNet(bool withSample)
    {
        var net = NetworkDescription.Parse(ShiftedNet);
        var weights = NetworkWeights.Initialize(net, seed: 2).With("conv2.bias", WeightTensor.Filled(4.0, 5));
        var sample = StepChecks.Inputs(net, 16, seed: 3, scale: 2);
        var child = new InsertBatchNormStep("conv2").Apply(net, weights, new MorphContext(0, withSample ? sample : null));
        return (child, sample);
    }

    /// <summary>The new BatchNorm's input and output blobs on <paramref name="sample"/> in training mode.</summary>
    private static (Tensor Input, Tensor Output) TrainModeBlobs(MorphOutcome child, WeightTensor sample)
    {
        using var module = new NetworkModule(child.Network, child.Weights);
        module.train();
        using var noGrad = no_grad();
        var x = sample.ToTorch(ScalarType.Float32);
        return (module.Blob(x, "conv2"), module.Blob(x, "conv2_bn"));
    }
}
