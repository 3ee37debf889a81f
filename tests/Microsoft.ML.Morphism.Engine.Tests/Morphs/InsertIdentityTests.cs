// Specification of NASH's identity insert after a ReLU: exact on random networks, plain ReLU from the start, refused elsewhere.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class InsertIdentityTests(ITestOutputHelper output)
{
    [Fact]
    public void InsertingAfterAnyPlainReluOfRandomNetworksPreservesTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 40; seed++)
        {
            var random = new Random(3000 + seed);
            var net = seed % 4 == 3 ? RandomNetworks.Mlp(seed, ActivationKind.ReLU) : RandomNetworks.Cnn(seed, ActivationKind.ReLU);
            var relus = net.AllLayers().OfType<ActivationLayer>().Where(a => a is { Activation: ActivationKind.ReLU, Parametric: false }).ToList();
            if (relus.Count == 0)
                continue;
            var relu = relus[random.Next(relus.Count)];
            int kernel = net.Shapes[relu.Name].Output.IsImage ? 1 + 2 * random.Next(0, 2) : 1;
            errors.Add(StepChecks.AssertPreserves(net, new InsertIdentityStep(relu.Name, kernel), seed));
        }
        Assert.True(errors.Count >= 30, $"only {errors.Count} networks had a plain ReLU");
        output.WriteLine($"identity, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Fact]
    public void TheNewLayerIsTheIdentityAndItsReluIsPlainFromTheStart()
    {
        var net = NetworkDescription.Parse("input(2,6,6) conv(3,3) relu maxpool(2) flatten dense(4) relu dense(2)");
        var weights = RandomNetworks.Weights(net, 1);

        var outcome = new MorphPlan().InsertIdentity("relu1", kernelSize: 3).InsertIdentity("relu2").Apply(net, weights);

        Assert.Equal(["conv1", "relu1", "relu1_id1", "relu1_id1_act", "maxpool1", "flatten1", "dense1", "relu2", "relu2_id1", "relu2_id1_act", "dense2"],
            outcome.Network.Layers.Select(l => l.Name));
        Assert.IsType<Conv2dLayer>(outcome.Network["relu1_id1"]);
        Assert.IsType<DenseLayer>(outcome.Network["relu2_id1"]);
        Assert.True(outcome.Network["relu1_id1"].Morphed && outcome.Network["relu1_id1_act"].Morphed);
        var w = outcome.Weights["relu1_id1.weight"];
        Assert.Equal(3.0, w.Values.ToArray().Sum());
        Assert.Equal(1.0, w.Values[((0 * 3 + 0) * 3 + 1) * 3 + 1]); // channel 0 → 0, centre tap
        Assert.All(outcome.Weights["relu1_id1.bias"].Values.ToArray(), b => Assert.Equal(0.0, b));
        Assert.False(((ActivationLayer)outcome.Network["relu1_id1_act"]).Parametric);
    }

    [Theory]
    [InlineData("identity(conv1)", "not a plain relu")]
    [InlineData("identity(prelu1)", "not a plain relu")]
    [InlineData("identity(relu9)", "no layer named 'relu9'")]
    [InlineData("identity(relu1, kernel=2)", "kernel 2 is not valid")]
    public void AnythingButAPlainReluIsRefusedByName(string plan, string message)
    {
        var net = NetworkDescription.Parse("input(1,6,6) conv(3,3) prelu relu flatten dense(2)");
        var e = Assert.ThrowsAny<ArgumentException>(() => MorphPlan.Parse(plan).Apply(net, RandomNetworks.Weights(net, 1)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void TheStepRoundTripsThroughPlanTextAndJson()
    {
        var plan = MorphPlan.Parse("identity(relu1, kernel=3) identity(relu2)");
        Assert.Equal("identity(relu1, kernel=3) identity(relu2)", plan.ToString());
        Assert.Equal(plan.ToString(), MorphPlan.FromJson(plan.ToJson()).ToString());
    }
}
