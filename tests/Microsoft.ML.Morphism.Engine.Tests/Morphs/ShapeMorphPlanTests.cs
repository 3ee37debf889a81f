// The shape morphs as plan steps: chains in random order stay exact, and steps round-trip through JSON and text.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class ShapeMorphPlanTests(ITestOutputHelper output)
{
    [Fact]
    public void ChainsOfShapeMorphsInRandomOrderPreserveTheFunction()
    {
        var errors = new List<StepErrors>();
        for (int seed = 0; seed < 32; seed++)
        {
            var random = new Random(6000 + seed);
            var parent = StepChecks.Network(seed);
            var sample = StepChecks.Inputs(parent, 8, seed);
            var plan = RandomPlan(parent, random, steps: random.Next(3, 6));
            var text = parent.ToString();

            var weights64 = RandomNetworks.Weights(parent, seed, Precision.Float64);
            var before64 = Preservation.Snapshot(weights64);
            var chain64 = plan.Apply(parent, weights64, new MorphContext(seed, sample));
            Preservation.AssertPreserved(parent, weights64, text, before64, chain64.Network, chain64.Weights, chain64.Steps, chain: true, seed);
            var fp64 = MorphVerifier.Verify(parent, weights64, chain64, randomInputs: 16, seed: seed, precision: Precision.Float64);

            var weights32 = RandomNetworks.Weights(parent, seed);
            var chain32 = plan.Apply(parent, weights32, new MorphContext(seed, sample));
            var fp32 = MorphVerifier.Verify(parent, weights32, chain32, randomInputs: 16, seed: seed);
            Assert.True(fp32.MaxRelError <= Preservation.Float32Chain, $"fp32 chain rel error {fp32.MaxRelError:E2}: {plan} on {text}");
            Assert.True(fp32.PredictionsAgree, $"fp32 predictions differ outside the margin: {plan} on {text}");
            errors.Add(new StepErrors(fp64.MaxRelError, fp32.MaxRelError));
        }
        output.WriteLine($"chains of 3-5 shape morphs, {errors.Count} cases, {StepErrors.Max(errors)}");
    }

    [Fact]
    public void FluentPlanPrintsEachStepInItsTextForm()
    {
        var plan = new MorphPlan().Widen("conv1", 32).EnlargeKernel("conv2", 5).AddBranch("conv2").AddBranch("conv3", 3)
            .AddSkip("conv1", "conv3").InsertBatchNorm("conv2");

        Assert.Equal("widen(conv1, 32) kernel(conv2, 5) branch(conv2) branch(conv3, 3) skip(conv1, conv3) bn(conv2)", plan.ToString());
    }

    [Fact]
    public void EveryShapeStepRoundTripsThroughPlanJson()
    {
        MorphStep[] steps =
        [
            new WidenStep("conv1", 32), new EnlargeKernelStep("conv2", 5), new AddBranchStep("conv2"),
            new AddBranchStep("dense1", 3), new AddSkipStep("input", "conv3"), new InsertBatchNormStep("conv2"),
        ];
        var json = new MorphPlan(steps).ToJson();
        var back = MorphPlan.FromJson(json);

        Assert.Equal(steps, back.Steps);
        foreach (var kind in new[] { "widen", "kernel", "branch", "skip", "bn" })
            Assert.Contains($"\"morph\":\"{kind}\"", json);
        Assert.Contains("\"newWidth\":32", json);
    }

    [Fact]
    public void ABranchStepWithoutAKernelInJsonTakesTheDefault()
    {
        var plan = MorphPlan.FromJson("[{\"morph\":\"branch\",\"layer\":\"conv2\"}]");
        Assert.Equal(new AddBranchStep("conv2", 1), plan.Steps.Single());
    }

    /// <summary>A plan of random applicable shape morphs, each chosen for the network the previous ones produced.</summary>
    private static MorphPlan RandomPlan(NetworkDescription parent, Random random, int steps)
    {
        var plan = new MorphPlan();
        var (network, weights) = (parent, RandomNetworks.Weights(parent, 0, Precision.Float64));
        while (plan.Steps.Count < steps)
        {
            var step = RandomStep(network, random);
            if (step is null)
                continue;
            var outcome = step.Apply(network, weights);
            (network, weights) = (outcome.Network, outcome.Weights);
            plan.Add(step);
        }
        return plan;
    }

    private static MorphStep? RandomStep(NetworkDescription net, Random random)
    {
        T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];
        switch (random.Next(5))
        {
            case 0:
                var widenable = WidenStep.WidenableLayers(net);
                if (widenable.Count == 0)
                    return null;
                var layer = Pick(widenable);
                return new WidenStep(layer, net.Shapes[layer].Output.Channels + random.Next(1, 5));
            case 1:
                var convs = net.AllLayers().OfType<Conv2dLayer>().ToList();
                if (convs.Count == 0)
                    return null;
                var conv = Pick(convs);
                return new EnlargeKernelStep(conv.Name, conv.KernelSize + 2);
            case 2:
                var branchable = net.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).ToList();
                var g = Pick(branchable);
                return new AddBranchStep(g.Name, g is Conv2dLayer c ? Pick(StepChecks.AlignableKernels(c)) : 1);
            case 3:
                var (from, to) = Pick(StepChecks.CompatibleSkips(net));
                return new AddSkipStep(from, to);
            default:
                return new InsertBatchNormStep(Pick(net.AllLayers().ToList()).Name);
        }
    }
}
