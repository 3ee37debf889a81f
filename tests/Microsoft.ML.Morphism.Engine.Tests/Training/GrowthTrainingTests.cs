// Training runs that grow: exact growth points, carried optimizer state, the continuing schedule, cumulative MACs, annealing, determinism.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

[Collection(nameof(SerialTorchTests))]
public class GrowthTrainingTests
{
    private static readonly NetworkDescription Net = NetworkDescription.Parse("input(1,10,10) conv(6,3) bn relu maxpool(2) conv(8,3) relu flatten dense(4)");
    private const string Schedule = "epoch 1: widen(conv1, 9) deepen(conv2); epoch 2: kernel(conv1, 5) branch(conv2_d1)";

    private static TrainingRecipe Recipe(int epochs = 3, OptimizerKind kind = OptimizerKind.Sgd) =>
        new() { MaxEpoch = epochs, BatchSize = 16, Optimizer = kind, LearningRate = kind == OptimizerKind.Sgd ? 0.05 : 2e-3, Seed = 11 };

    [Fact]
    public void EveryGrowthPointOfRandomNetworksIsExactInEvalMode()
    {
        var checkedPoints = new List<string>();
        for (int seed = 0; seed < 8; seed++)
        {
            var network = RandomNetworks.Cnn(seed);
            var widenable = WidenStep.WidenableLayers(network);
            var conv = network.AllLayers().OfType<Conv2dLayer>().First(c => c.Groups == 1 && c.Dilation == 1).Name;
            var plan = new MorphPlan();
            if (widenable.Count > 0)
                plan.Widen(widenable[0], network.Shapes[widenable[0]].Output.Channels + 3);
            plan.Deepen(conv);
            var data = SyntheticData.Squares(32, (int)network.Output.Size, network.Input.Height, seed, network.Input.Channels);
            var reports = new List<MorphReport>();
            var hooks = new TrainingHooks
            {
                GrowthApplied = g =>
                {
                    // Right before: the weights training had reached; right after: what the grown module now holds.
                    var after = g.ChildModule.ReadWeights();
                    reports.Add(MorphVerifier.Verify(g.Parent, g.ParentWeights, g.Chain.Network, after, randomInputs: 16, seed: seed));
                    reports.Add(MorphVerifier.Verify(g.Parent, g.ParentWeights.ToPrecision(Precision.Float64),
                        g.Chain.Network, after.ToPrecision(Precision.Float64), randomInputs: 16, seed: seed, precision: Precision.Float64));
                },
            };

            var result = new NetworkTrainer(Recipe(epochs: 2) with { Seed = seed }).Train(network, RandomNetworks.Weights(network, seed), data, hooks: hooks,
                growth: new GrowthSchedule().At(1, plan));

            var context = $"{plan} on {network}";
            Assert.Equal(2, reports.Count);
            Assert.True(reports[0].MaxRelError <= Preservation.Float32Chain, $"fp32 rel error {reports[0].MaxRelError:E2}: {context}");
            Assert.True(reports[0].PredictionsAgree, context);
            Assert.True(reports[1].MaxRelError <= Preservation.Float32Chain, $"fp64 (from fp32 weights) rel error {reports[1].MaxRelError:E2}: {context}");
            Assert.Single(result.Growth);
            Assert.True(result.Growth[0].MaxRelError <= Preservation.Float32Chain, context);
            Assert.NotEqual(network.ToString(), result.Network!.ToString());
            result.Weights.Validate(result.Network);
            checkedPoints.Add(context);
        }
        Assert.Equal(8, checkedPoints.Count);
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void TheGrownOptimizerHoldsExactlyWhatEachMorphsRuleCarried(OptimizerKind kind)
    {
        var snapshots = new List<(ParameterStates Expected, ParameterStates Actual, int Epoch)>();
        var hooks = new TrainingHooks
        {
            GrowthApplied = g => snapshots.Add((g.Chain.CarryState(g.ParentStates, g.Parent),
                OptimizerStateTransfer.Read(g.ChildOptimizer, g.ChildModule), g.Epoch)),
        };

        new NetworkTrainer(Recipe(kind: kind)).Train(Net, NetworkWeights.Initialize(Net, 1), SyntheticData.Squares(48, 4, 10, seed: 1), hooks: hooks,
            growth: GrowthSchedule.Parse(Schedule));

        Assert.Equal([1, 2], snapshots.Select(s => s.Epoch));
        foreach (var (expected, actual, _) in snapshots)
        {
            Assert.Equal(expected.Keys, actual.Keys);
            foreach (var key in expected.Keys)
                foreach (var (slot, values) in expected[key]!)
                    Assert.True(values.Values.SequenceEqual(actual[key]![slot].Values), $"{key} {slot}");
        }
        // After the first point: conv1's 3 new filters start fresh, the old ones keep their state; the re-solved conv2 starts fresh.
        var first = snapshots[0].Actual;
        var slotName = kind == OptimizerKind.Sgd ? ParameterStates.Momentum : ParameterStates.Step;
        var conv1 = first["conv1.weight"]![slotName].Values;
        Assert.All(conv1[(6 * 9)..].ToArray(), v => Assert.Equal(0, v));
        Assert.Contains(conv1[..(6 * 9)].ToArray(), v => v != 0);
        Assert.False(first.Contains("conv2.weight"));
        if (kind == OptimizerKind.Adam)
            Assert.All(conv1[..(6 * 9)].ToArray(), v => Assert.Equal(3, v)); // 48 rows in batches of 16: 3 steps in epoch 1
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void AGrownRunIsBitIdenticalForTheSameSeed(OptimizerKind kind)
    {
        var data = SyntheticData.Squares(48, 4, 10, seed: 1);
        TrainingResult Run(int seed) => new NetworkTrainer(Recipe(kind: kind) with { Seed = seed, ShiftPixels = 1 })
            .Train(Net, NetworkWeights.Initialize(Net, 1), data, growth: GrowthSchedule.Parse(Schedule));

        var a = Run(11);
        var b = Run(11);
        var c = Run(12);

        Assert.Equal(a.Network!.ToString(), b.Network!.ToString());
        Assert.All(a.Weights.Keys, key => Assert.True(a.Weights[key].Values.SequenceEqual(b.Weights[key].Values), key));
        Assert.Contains(a.Weights.Keys, key => !a.Weights[key].Values.SequenceEqual(c.Weights[key].Values));
    }

    [Fact]
    public void TheResultCarriesTheGrownNetworkTheGrowthEventsAndMacsAtEachEpochsCost()
    {
        var data = SyntheticData.Squares(48, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(32, 4, 10, seed: 2);
        var log = new List<string>();

        var result = new NetworkTrainer(Recipe()).Train(Net, NetworkWeights.Initialize(Net, 1), data, validation,
            new TrainingHooks { Log = log.Add }, GrowthSchedule.Parse(Schedule));

        var afterFirst = GrowthSchedule.Parse(Schedule).Points[0].Plan.Apply(Net, NetworkWeights.Initialize(Net, 1)).Network;
        var final = result.Network!;
        Assert.Equal(final.ToString(), GrowthSchedule.Parse(Schedule).Points[1].Plan.Apply(afterFirst, NetworkWeights.Initialize(afterFirst, 1)).Network.ToString());
        result.Weights.Validate(final); // whichever epoch validation kept, its weights fit the grown network

        Assert.Equal([1, 2], result.Growth.Select(g => g.Epoch));
        var (first, second) = (result.Growth[0], result.Growth[1]);
        Assert.Equal("widen(conv1, 9) deepen(conv2, width=8)", first.Steps);
        Assert.Equal((Net.ForwardMacs, afterFirst.ForwardMacs), (first.ForwardMacsBefore, first.ForwardMacsAfter));
        Assert.Equal((afterFirst.ForwardMacs, final.ForwardMacs), (second.ForwardMacsBefore, second.ForwardMacsAfter));
        Assert.True(final.ForwardMacs > afterFirst.ForwardMacs && afterFirst.ForwardMacs > Net.ForwardMacs);
        Assert.Equal((Net.ForwardMacs + afterFirst.ForwardMacs) * 48, first.VerificationMacs); // 48 rows: all of them, up to 64
        Assert.All(result.Growth, g => Assert.True(g.Seconds > 0 && g.MaxRelError <= Preservation.Float32Chain));

        // Each epoch is charged at the cost of the network it trained, validation included, and each growth's verification.
        long expected = 0;
        var networks = new[] { Net, afterFirst, final };
        for (int e = 0; e < 3; e++)
        {
            expected += networks[e].TrainingMacsPerImage * 48 + networks[e].ForwardMacs * 32;
            Assert.Equal(expected, result.History[e].CumulativeMacs);
            if (e < 2)
                expected += result.Growth[e].VerificationMacs;
        }
        Assert.Contains(log, l => l.StartsWith("growth after epoch 1: widen(conv1, 9) deepen(conv2, width=8); forward MACs per image", StringComparison.Ordinal));
    }

    [Fact]
    public void TheLearningRateScheduleContinuesOverTheWholeRunAndTheRampIsMeasurable()
    {
        var data = SyntheticData.Squares(64, 4, 10, seed: 1); // 4 batches per epoch
        var recipe = Recipe(epochs: 4);
        double[] Rates(TrainingRecipe r, GrowthSchedule? growth)
        {
            var rates = new List<double>();
            new NetworkTrainer(r).Train(Net, NetworkWeights.Initialize(Net, 1), data, hooks: new TrainingHooks { EpochCompleted = m => rates.Add(m.LearningRate) }, growth: growth);
            return [.. rates];
        }

        var fixedRun = Rates(recipe, null);
        var grown = Rates(recipe, GrowthSchedule.Parse("epoch 2: widen(conv1, 8)"));
        var ramped = Rates(recipe with { GrowthRampEpochs = 2 }, GrowthSchedule.Parse("epoch 2: widen(conv1, 8)"));

        Assert.Equal(fixedRun, grown); // no new warm-up: the same schedule, progress counted over all 4 epochs
        Assert.Equal(fixedRun[..2], ramped[..2]);
        // The last batch of epoch 3 runs at progress 2.75: the ramp's factor is (2.75 − 2)/2; epoch 4's at 3.75: (3.75 − 2)/2.
        Assert.Equal(fixedRun[2] * 0.375, ramped[2], 12);
        Assert.Equal(fixedRun[3] * 0.875, ramped[3], 12);
        Assert.Equal(recipe.LearningRateAt(2.75) * 0.375, (recipe with { GrowthRampEpochs = 2 }).LearningRateAt(2.75, lastGrowth: 2), 12);
    }

    [Fact]
    public void AnnealingDrivesAnInsertedActivationToThePlainOne()
    {
        var data = SyntheticData.Squares(64, 4, 10, seed: 1);
        var growth = GrowthSchedule.Parse("epoch 1: deepen(conv2)");
        double A(TrainingRecipe r) => new NetworkTrainer(r).Train(Net, NetworkWeights.Initialize(Net, 1), data, growth: growth).Weights["conv2_d1_act.a"].Values[0];

        double free = A(Recipe(epochs: 4) with { LearningRate = 0.01 });
        double annealed = A(Recipe(epochs: 4) with { LearningRate = 0.01, ActivationAnnealEpochs = 2 });
        double halfway = A(Recipe(epochs: 2) with { LearningRate = 0.01, ActivationAnnealEpochs = 2 });

        Assert.True(free > 0.9, $"without annealing a stays near 1 at this learning rate ({free})");
        Assert.Equal(0, annealed); // 2 epochs after insertion (epochs 2 and 3), a ≤ max(0, 1 − 2/2)
        Assert.InRange(halfway, 0, 0.5); // 1 epoch after insertion, a ≤ 1 − 1/2
    }

    [Fact]
    public void AMorphThatIsNotExactStopsTheRun()
    {
        var growth = new GrowthSchedule().At(1, new MorphPlan().Add(new PerturbingStep()));

        var e = Assert.Throws<InvalidOperationException>(() => new NetworkTrainer(Recipe()).Train(Net, NetworkWeights.Initialize(Net, 1),
            SyntheticData.Squares(32, 4, 10, seed: 1), growth: growth));

        Assert.Contains("Growth after epoch 1 is not exact: 'perturb()' moved the logits by", e.Message);
    }

    [Fact]
    public void GrowthPointsOutsideTheRunOrNotApplicableAreRejectedClearly()
    {
        var data = SyntheticData.Squares(32, 4, 10, seed: 1);
        var trainer = new NetworkTrainer(Recipe(epochs: 2));

        var late = Assert.Throws<ArgumentException>(() => trainer.Train(Net, NetworkWeights.Initialize(Net, 1), data, growth: GrowthSchedule.Parse("epoch 2: widen(conv1, 8)")));
        var wrong = Assert.Throws<ArgumentException>(() => trainer.Train(Net, NetworkWeights.Initialize(Net, 1), data, growth: GrowthSchedule.Parse("epoch 1: widen(conv9, 8)")));

        Assert.Contains("is not before the run's last epoch (2)", late.Message);
        Assert.Contains("Growth after epoch 1 ('widen(conv9, 8)') cannot be applied", wrong.Message);
        Assert.Contains("no layer named 'conv9'", wrong.Message);
    }

    /// <summary>A "morph" that changes the function: the last layer's weights move by 1%.</summary>
    private sealed record PerturbingStep : MorphStep
    {
        protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
        {
            var w = weights["dense1.weight"];
            return new MorphOutcome(network, weights.With("dense1.weight", new WeightTensor(w.Shape, w.Values.ToArray().Select(v => v * 1.01 + 1e-3).ToArray())), this);
        }

        public override string ToString() => "perturb()";
    }
}
