// Each morph's optimizer-state rule (MorphStep.CarryState) through a real optimizer, and AdamW's per-entry step counts.
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

[Collection(nameof(SerialTorchTests))]
public class OptimizerStateTests
{
    // conv1, bn1, relu1, conv2, relu2, gap1, dense1
    private static readonly NetworkDescription Net = NetworkDescription.Parse("input(2,8,8) conv(4,3) bn relu conv(5,3) relu gap dense(3)");

    public static TheoryData<OptimizerKind> Kinds => [OptimizerKind.Sgd, OptimizerKind.Adam];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void WidenPadsTheStateExactlyWhereTheWeightsGrew(OptimizerKind kind)
    {
        var (parent, child, _, _) = Carry(new WidenStep("conv1", 6), kind);

        foreach (var slot in Slots(kind))
        {
            AssertGrown(parent, child, "conv1.weight", slot, axis: 0);
            AssertGrown(parent, child, "conv1.bias", slot, axis: 0);
            AssertGrown(parent, child, "bn1.weight", slot, axis: 0);
            AssertGrown(parent, child, "bn1.bias", slot, axis: 0);
            AssertGrown(parent, child, "conv2.weight", slot, axis: 1);
            AssertSame(parent, child, "dense1.weight", slot);
            AssertSame(parent, child, "conv2.bias", slot);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EnlargeKernelPadsTheStateLikeTheKernel(OptimizerKind kind)
    {
        var (parent, child, _, _) = Carry(new EnlargeKernelStep("conv2", 5), kind);

        foreach (var slot in Slots(kind))
        {
            AssertPadded(parent["conv2.weight"]![slot], child["conv2.weight"]![slot]);
            AssertSame(parent, child, "conv1.weight", slot);
            AssertSame(parent, child, "conv2.bias", slot);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void NetMorphDeepenStartsBothFactorsFreshAlthoughTheSplitLayerKeepsItsNameAndShape(OptimizerKind kind)
    {
        var (parent, child, outcome, weights) = Carry(new DeepenStep("conv2"), kind);

        // The case a copy-by-name-and-shape rule gets wrong: F1 is named conv2 and shaped like G, but its weights were re-solved.
        Assert.Equal(Net.ParameterSpecs.Single(p => p.Key == "conv2.weight").Shape, outcome.Weights["conv2.weight"].Shape);
        Assert.NotEqual(outcome.Weights["conv2.weight"].Values.ToArray(), weights["conv2.weight"].Values.ToArray());
        Assert.True(parent.KeepMatching(outcome.Network).Contains("conv2.weight"), "the default rule would have copied G's state onto F1");

        Assert.False(child.Contains("conv2.weight"), "F1 (re-solved) must start fresh");
        Assert.False(child.Contains("conv2_d1.weight"), "F2 (solved) must start fresh");
        Assert.False(child.Contains("conv2.bias"), "F1's zero bias must start fresh");
        Assert.False(child.Contains("conv2_d1_act.a"));
        foreach (var slot in Slots(kind))
        {
            Assert.Equal(parent["conv2.bias"]![slot].Values.ToArray(), child["conv2_d1.bias"]![slot].Values.ToArray()); // G's bias moved to F2, its state with it
            AssertSame(parent, child, "conv1.weight", slot);
            AssertSame(parent, child, "dense1.weight", slot);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void IdMorphDeepenMovesGsStateToTheFactorThatKeepsItsWeights(OptimizerKind kind)
    {
        var (parent, child, outcome, weights) = Carry(new DeepenStep("conv2", Width: 7, Method: DeepenMethod.IdMorph), kind);

        // IdMorph: F1 (named conv2) = G plus two random rows; the identity F2 is new.
        var g = weights["conv2.weight"].Values.ToArray();
        Assert.Equal(g, outcome.Weights["conv2.weight"].Values[..g.Length].ToArray());
        foreach (var slot in Slots(kind))
            AssertGrown(parent, child, "conv2.weight", slot, axis: 0);
        Assert.False(child.Contains("conv2_d1.weight"), "the identity factor must start fresh");
        Assert.False(child.Contains("conv2.bias"));
        foreach (var slot in Slots(kind))
            Assert.Equal(parent["conv2.bias"]![slot].Values.ToArray(), child["conv2_d1.bias"]![slot].Values.ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void AddBranchKeepsGsStateOnF1AndStartsF2Fresh(OptimizerKind kind)
    {
        var (parent, child, _, _) = Carry(new AddBranchStep("conv2", 5), kind);

        Assert.False(child.Contains("conv2_br1.weight"));
        foreach (var slot in Slots(kind))
        {
            // F1 = G − F2 grew to F2's 5×5: G's state in the centre, a fresh border.
            AssertPadded(parent["conv2.weight"]![slot], child["conv2.weight"]![slot]);
            AssertSame(parent, child, "conv2.bias", slot);
        }
    }

    public static TheoryData<string, OptimizerKind> AddingSteps => new()
    {
        { "skip(relu1, conv2)", OptimizerKind.Sgd }, { "skip(relu1, conv2)", OptimizerKind.Adam },
        { "bn(conv2)", OptimizerKind.Sgd }, { "bn(conv2)", OptimizerKind.Adam },
        { "identity(relu1, kernel=3)", OptimizerKind.Sgd }, { "identity(relu1, kernel=3)", OptimizerKind.Adam },
    };

    [Theory]
    [MemberData(nameof(AddingSteps))]
    public void MorphsThatOnlyAddParametersStartThemFreshAndKeepEveryOtherState(string step, OptimizerKind kind)
    {
        var (parent, child, outcome, _) = Carry(MorphPlan.Parse(step).Steps[0], kind);

        var added = outcome.Network.ParameterSpecs.Where(p => !p.IsBuffer && !Net.ParameterSpecs.Any(q => q.Key == p.Key)).Select(p => p.Key).ToList();
        Assert.NotEmpty(added);
        Assert.All(added, key => Assert.False(child.Contains(key), $"{key} must start fresh"));
        Assert.Equal(parent.Keys, child.Keys);
        foreach (var key in parent.Keys)
            foreach (var slot in Slots(kind))
                AssertSame(parent, child, key, slot);
    }

    [Fact]
    public void AdamsNewEntriesTakeTheirFirstStepAtTheirOwnCountNotTheTensors()
    {
        // 30 Adam steps, then widen conv1: conv2's new input columns get gradient at once (conv1's new rows feed them).
        var recipe = Recipe(OptimizerKind.Adam) with { WeightDecay = 0 };
        var (module, optimizer) = Trained(recipe, steps: 30);
        var outcome = new WidenStep("conv1", 6).Apply(Net, module.ReadWeights(), new MorphContext(3));
        var states = outcome.Step.CarryState(OptimizerStateTransfer.Read(optimizer, module), Net, outcome);
        optimizer.Dispose();
        module.Dispose();
        using var child = new NetworkModule(outcome.Network, outcome.Weights);
        var (childOptimizer, _) = NetworkTrainer.CreateOptimizer(recipe, child);
        using var disposeOptimizer = childOptimizer;
        OptimizerStateTransfer.Write(childOptimizer, child, states);

        var steps = OptimizerStateTransfer.Read(childOptimizer, child)["conv2.weight"]![ParameterStates.Step];
        Assert.Equal(30, steps.Values[0]); // an old entry keeps its count
        Assert.Equal(0, steps.Values[4 * 9]); // filter 0, new input channel 4: count 0

        var before = child.ReadWeights()["conv2.weight"];
        double[] gradient = StepOnce(child, childOptimizer);
        var after = child.ReadWeights()["conv2.weight"];
        int checkedEntries = 0;
        for (int o = 0; o < 5; o++)
            for (int i = 4; i < 6; i++)
                for (int t = 0; t < 9; t++)
                {
                    int index = (o * 6 + i) * 9 + t;
                    if (Math.Abs(gradient[index]) < 1e-4)
                        continue;
                    // Own count 1: m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) = lr. A shared count of 31 would give 0.57·lr,
                    // and late in training (count ≫ 1000) lr·(1 − β₁)/√(1 − β₂) ≈ 3.2·lr.
                    double ratio = Math.Abs(after.Values[index] - before.Values[index]) / recipe.LearningRate;
                    Assert.InRange(ratio, 0.98, 1.0001);
                    checkedEntries++;
                }
        Assert.True(checkedEntries > 10, $"only {checkedEntries} new entries had a gradient");
    }

    [Theory]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.Sgd)]
    public void OurOptimizersStepBitIdenticallyToTorchSharpsOwn(OptimizerKind kind)
    {
        // GrowingAdamW (until a growth) and HeldScalarSgd are TorchSharp's AdamW and SGD with held Scalars: same steps, same bits.
        var recipe = Recipe(kind);
        var (mine, mineOptimizer) = Trained(recipe, steps: 6);
        var (theirs, theirOptimizer) = Trained(recipe, steps: 6, torchSharps: true);
        using (mine)
        using (theirs)
        using (mineOptimizer)
        using (theirOptimizer)
        {
            Assert.IsType(kind == OptimizerKind.Adam ? typeof(GrowingAdamW) : typeof(HeldScalarSgd), mineOptimizer);
            Assert.IsType(kind == OptimizerKind.Adam ? typeof(AdamW) : typeof(SGD), theirOptimizer);
            var a = mine.ReadWeights();
            var b = theirs.ReadWeights();
            Assert.All(a.Keys, key => Assert.True(a[key].Values.SequenceEqual(b[key].Values), key));
        }
    }

    [Fact]
    public void TheGrownOptimizerRebuildsTheParameterGroupsByTheSameRules()
    {
        var recipe = Recipe(OptimizerKind.Sgd) with { ActivationLearningRateFactor = 7, WeightDecay = 1e-3 };
        var outcome = new DeepenStep("conv2").Apply(Net, ParentWeights(), new MorphContext(3));
        using var child = new NetworkModule(outcome.Network, outcome.Weights);
        var (optimizer, factors) = NetworkTrainer.CreateOptimizer(recipe, child);
        using var disposeOptimizer = optimizer;

        var names = child.named_parameters().ToDictionary(p => p.parameter.Handle, p => p.name);
        var groups = optimizer.ParamGroups.Cast<SGD.ParamGroup>().Select(g => g.Parameters.Select(p => names[p.Handle]).ToList()).ToList();
        Assert.Equal([1.0, 1.0, 7.0], factors);
        Assert.Contains("conv2_d1.weight", groups[0]);
        Assert.Equal(1e-3, optimizer.ParamGroups.Cast<SGD.ParamGroup>().First().Options.weight_decay);
        Assert.Contains("conv2_d1.bias", groups[1]);
        Assert.Equal(["conv2_d1_act.a"], groups[2]);
    }

    // --- harness ---

    private static TrainingRecipe Recipe(OptimizerKind kind) =>
        new() { Optimizer = kind, LearningRate = kind == OptimizerKind.Sgd ? 0.01 : 1e-3, Seed = 1 };

    private static IEnumerable<string> Slots(OptimizerKind kind) =>
        kind == OptimizerKind.Sgd ? [ParameterStates.Momentum] : [ParameterStates.ExpAvg, ParameterStates.ExpAvgSq, ParameterStates.Step];

    private static NetworkWeights ParentWeights() => NetworkWeights.Initialize(Net, 1);

    /// <summary>The parent's optimizer state after a few steps, and the child's as written into a fresh optimizer for the child and read back.</summary>
    private static (ParameterStates Parent, ParameterStates Child, MorphOutcome Outcome, NetworkWeights ParentWeights) Carry(MorphStep step, OptimizerKind kind)
    {
        var recipe = Recipe(kind);
        var (module, optimizer) = Trained(recipe, steps: 3);
        ParameterStates parent;
        NetworkWeights weights;
        using (module)
        using (optimizer)
        {
            parent = OptimizerStateTransfer.Read(optimizer, module);
            weights = module.ReadWeights();
        }
        Assert.Equal(Net.ParameterSpecs.Count(p => !p.IsBuffer), parent.Keys.Count());

        var outcome = step.Apply(Net, weights, new MorphContext(3));
        var carried = outcome.Step.CarryState(parent, Net, outcome);
        using var child = new NetworkModule(outcome.Network, outcome.Weights);
        var (childOptimizer, _) = NetworkTrainer.CreateOptimizer(recipe, child);
        using var disposeOptimizer = childOptimizer;
        OptimizerStateTransfer.Write(childOptimizer, child, carried);
        var back = OptimizerStateTransfer.Read(childOptimizer, child);
        Assert.Equal(carried.Keys, back.Keys);
        foreach (var key in carried.Keys)
            foreach (var (slot, values) in carried[key]!)
                Assert.True(values.Values.SequenceEqual(back[key]![slot].Values), $"{key} {slot} did not survive the optimizer round trip");
        return (parent, back, outcome, weights);
    }

    // torchSharps: the same parameter groups on TorchSharp's own AdamW or SGD instead of ours.
    private static (NetworkModule Module, OptimizerHelper Optimizer) Trained(TrainingRecipe recipe, int steps, bool torchSharps = false)
    {
        var module = new NetworkModule(Net, ParentWeights());
        var (optimizer, _) = NetworkTrainer.CreateOptimizer(recipe, module);
        if (torchSharps)
        {
            optimizer = optimizer switch
            {
                GrowingAdamW adam => optim.AdamW([.. adam.ParamGroups.Cast<AdamW.ParamGroup>().Select(g => new AdamW.ParamGroup(g.Parameters, g.Options.LearningRate!.Value, weight_decay: g.Options.weight_decay!.Value))], recipe.LearningRate),
                HeldScalarSgd sgd => optim.SGD([.. sgd.ParamGroups.Cast<SGD.ParamGroup>().Select(g => new SGD.ParamGroup(g.Parameters, g.Options.LearningRate!.Value, g.Options.momentum!.Value, 0, g.Options.weight_decay!.Value, nesterov: g.Options.nesterov!.Value))],
                    recipe.LearningRate, recipe.Momentum, nesterov: recipe.Momentum > 0),
                _ => throw new InvalidOperationException(optimizer.GetType().Name),
            };
        }
        using var generator = new Generator(7);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var x = randn([8, 2, 8, 8], generator: generator);
            var y = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
            var loss = nn.functional.cross_entropy(module.forward(x), y);
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
            module.ClampActivations();
        }
        return (module, optimizer);
    }

    // One step on a fixed batch; returns conv2.weight's gradient.
    private static double[] StepOnce(NetworkModule module, OptimizerHelper optimizer)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(99);
        var x = randn([8, 2, 8, 8], generator: generator);
        var y = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });
        var loss = nn.functional.cross_entropy(module.forward(x), y);
        optimizer.zero_grad();
        loss.backward();
        var gradient = WeightTensor.FromTorch(module.named_parameters().Single(p => p.name == "conv2.weight").parameter.grad!).Values.ToArray();
        optimizer.step();
        return gradient;
    }

    private static void AssertSame(ParameterStates parent, ParameterStates child, string key, string slot) =>
        Assert.True(parent[key]![slot].Values.SequenceEqual(child[key]![slot].Values), $"{key} {slot} changed");

    /// <summary>A [5, 4, 3, 3] slot zero-padded, centred, to [5, 4, 5, 5].</summary>
    private static void AssertPadded(WeightTensor before, WeightTensor after)
    {
        Assert.Equal("[5, 4, 5, 5]", after.ShapeText);
        for (int f = 0; f < 20; f++)
            for (int y = 0; y < 5; y++)
                for (int x = 0; x < 5; x++)
                {
                    bool inside = y is >= 1 and <= 3 && x is >= 1 and <= 3;
                    double expected = inside ? before.Values[(f * 3 + y - 1) * 3 + x - 1] : 0;
                    Assert.Equal(expected, after.Values[(f * 5 + y) * 5 + x]);
                }
    }

    /// <summary>The child's slot is the parent's grown along <paramref name="axis"/>: old entries equal, new entries zero.</summary>
    private static void AssertGrown(ParameterStates parent, ParameterStates child, string key, string slot, int axis)
    {
        var before = parent[key]![slot];
        var after = child[key]![slot];
        long inner = after.Shape.Skip(axis + 1).Aggregate(1L, (a, d) => a * d);
        long oldSize = before.Shape[axis], newSize = after.Shape[axis];
        Assert.True(newSize > oldSize, $"{key} did not grow along axis {axis}");
        Assert.True(before.Shape.Select((d, i) => i == axis || d == after.Shape[i]).All(b => b), $"{key} grew along another axis");
        for (long index = 0; index < after.Count; index++)
        {
            long outer = index / (newSize * inner), along = index / inner % newSize, within = index % inner;
            double expected = along < oldSize ? before.Values[(int)((outer * oldSize + along) * inner + within)] : 0;
            Assert.True(expected == after.Values[(int)index], $"{key} {slot}[{index}]: {after.Values[(int)index]}, expected {expected}");
        }
    }
}
