// Property tests of the depth morph over random networks: preservation, density, widths, precision.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Solvers;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class DeepenPreservationTests(ITestOutputHelper output)
{
    private const int Cases = 40;
    private static readonly ActivationKind?[] ActivationChoices = [null, .. Enum.GetValues<ActivationKind>().Cast<ActivationKind?>()];

    /// <summary>A random network and one of its conv (and, unless <paramref name="convOnly"/>, dense) layers, deterministic in the seed.</summary>
    private static (NetworkDescription Network, string Layer) RandomCase(int seed, bool convOnly)
    {
        var network = !convOnly && seed % 3 == 2 ? RandomNetworks.Mlp(seed) : RandomNetworks.Cnn(seed);
        var candidates = network.AllLayers().Where(l => l is Conv2dLayer || (!convOnly && l is DenseLayer)).Select(l => l.Name).ToList();
        return (network, candidates[new Random(seed * 7919 + 1).Next(candidates.Count)]);
    }

    /// <summary>What the random cases covered, so a property cannot pass by never meeting the hard cases.</summary>
    private sealed class Coverage
    {
        public int InBranch, BeforeBatchNorm, Strided, Dense, WithSkip;

        public void Record(NetworkDescription network, string layer)
        {
            var location = network.Locate(layer);
            var sequence = location.Sequence(network);
            if (!location.IsTopLevel) InBranch++;
            if (location.Index + 1 < sequence.Length && sequence[location.Index + 1] is BatchNormLayer) BeforeBatchNorm++;
            if (network[layer] is Conv2dLayer { Stride: > 1 }) Strided++;
            if (network[layer] is DenseLayer) Dense++;
            if (network.AllLayers().OfType<SkipLayer>().Any()) WithSkip++;
        }
    }

    [Theory]
    [InlineData(DeepenMethod.NetMorph, 1)]
    [InlineData(DeepenMethod.NetMorph, 3)]
    [InlineData(DeepenMethod.IdMorph, 1)]
    [InlineData(DeepenMethod.IdMorph, 3)]
    public void DeepenPreservesRandomNetworksInBothPrecisions(DeepenMethod method, int kernelSize)
    {
        var coverage = new Coverage();
        double worst64 = 0, worst32 = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            var (network, layer) = RandomCase(seed, convOnly: kernelSize != 1);
            coverage.Record(network, layer);
            var weights = RandomNetworks.Weights(network, seed, Precision.Float64);
            var (text, values) = (network.ToString(), Preservation.Snapshot(weights));
            var step = new DeepenStep(layer, kernelSize, Activation: ActivationChoices[seed % ActivationChoices.Length], Method: method);

            var outcome = step.Apply(network, weights, new MorphContext(seed));

            var fp32 = Preservation.AssertPreserved(network, weights, text, values, outcome.Network, outcome.Weights, [outcome], chain: false, seed);
            var fp64 = MorphVerifier.Verify(network, weights, outcome, randomInputs: 16, seed: seed, precision: Precision.Float64);
            (worst32, worst64) = (Math.Max(worst32, fp32.MaxRelError), Math.Max(worst64, fp64.MaxRelError));
            Assert.Equal(step with { Width = outcome.Solver!.Width }, outcome.Step);
            Assert.Equal(method == DeepenMethod.IdMorph ? DeepenStep.IdMorphMethod : DeepenStep.NetMorphDenseMethod, outcome.Solver.Method);
        }
        output.WriteLine($"{method} kernel={kernelSize}: max rel logit error fp64 {worst64:E2}, fp32 {worst32:E2} over {Cases} cases");
        Assert.True(coverage.InBranch > 0 && coverage.BeforeBatchNorm > 0 && coverage.Strided > 0 && coverage.WithSkip > 0,
            $"cases miss a kind: branch {coverage.InBranch}, before BN {coverage.BeforeBatchNorm}, strided {coverage.Strided}, skip {coverage.WithSkip}");
        Assert.True(kernelSize != 1 || coverage.Dense > 0, "no dense layer was deepened");
    }

    [Fact]
    public void DeepenOfFloat32WeightsGivesFloat32WeightsWithinTheFloat32Bound()
    {
        double worst = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            var (network, layer) = RandomCase(seed, convOnly: seed % 2 == 0);
            var weights = RandomNetworks.Weights(network, seed, Precision.Float32);
            var (text, values) = (network.ToString(), Preservation.Snapshot(weights));

            var outcome = new DeepenStep(layer, KernelSize: seed % 2 == 0 ? 3 : 1).Apply(network, weights, new MorphContext(seed));

            Assert.Equal(Precision.Float32, outcome.Weights.Precision);
            foreach (var key in outcome.Weights.Keys)
                foreach (var value in outcome.Weights[key].Values)
                    Assert.Equal(value, (double)(float)value);
            var report = MorphVerifier.Verify(network, weights, outcome, randomInputs: 16, seed: seed);
            Assert.True(report.MaxRelError <= Preservation.Float32Step, $"fp32 rel error {report.MaxRelError:E2}: {outcome.Step} on {text}");
            Assert.True(report.PredictionsAgree);
            Preservation.AssertUnchanged(network, weights, text, values);
            worst = Math.Max(worst, report.MaxRelError);
        }
        output.WriteLine($"float32 parents: max rel logit error {worst:E2} over {Cases} cases");
    }

    [Fact]
    public void NetMorphDenseIsDenseExceptWhereTheComposedKernelForcesZeros()
    {
        for (int seed = 0; seed < Cases; seed++)
        {
            int kernelSize = seed % 2 == 0 ? 3 : 1;
            var (network, layer) = RandomCase(seed, convOnly: kernelSize != 1);
            var outcome = new DeepenStep(layer, kernelSize).Apply(network, RandomNetworks.Weights(network, seed, Precision.Float64), new MorphContext(seed));

            // A 1×1 layer under a larger new kernel composes to a kernel that is zero off the centre,
            // which the minimum-norm solution reproduces with zero off-centre taps (see the solver tests).
            bool forcedZeros = network[layer] is DenseLayer or Conv2dLayer { KernelSize: 1 } && kernelSize > 1;
            if (!forcedZeros)
                Assert.True(outcome.Solver!.Density >= 0.95, $"density {outcome.Solver.Density:P1} for {outcome.Step} on {network}");
        }
    }

    [Fact]
    public void PracticalIsExactAndDenserThanIdMorphWhereTheWidthIsPinnedBelowTheCondition()
    {
        int practicalCases = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            var (network, layer) = RandomCase(seed, convOnly: true);
            var conv = (Conv2dLayer)network[layer];
            int inChannels = network.Shapes[layer].Input.Channels;
            var weights = RandomNetworks.Weights(network, seed, Precision.Float64);
            var (text, values) = (network.ToString(), Preservation.Snapshot(weights));

            var netMorph = new DeepenStep(layer, 3, Width: conv.OutChannels).Apply(network, weights, new MorphContext(seed));
            var idMorph = new DeepenStep(layer, 3, Width: conv.OutChannels, Method: DeepenMethod.IdMorph).Apply(network, weights, new MorphContext(seed));

            Preservation.AssertPreserved(network, weights, text, values, netMorph.Network, netMorph.Weights, [netMorph], chain: false, seed);
            if (KernelFactorizer.MeetsSolvabilityCondition(conv.OutChannels, inChannels, conv.KernelSize, 3, conv.OutChannels))
                continue; // the dense factorisation may be exact here; the other properties cover it
            practicalCases++;
            Assert.Equal(DeepenStep.NetMorphPracticalMethod, netMorph.Solver!.Method);
            Assert.True(netMorph.Solver.Density > idMorph.Solver!.Density,
                $"practical {netMorph.Solver.Density:P1} vs IdMorph {idMorph.Solver.Density:P1} for {layer} on {text}");
        }
        Assert.True(practicalCases >= Cases / 4, $"only {practicalCases} practical cases");
    }

    [Fact]
    public void AutomaticWidthIsTheFirstExactWidthFromTheConditionedCount()
    {
        int widened = 0;
        for (int seed = 0; seed < Cases; seed++)
        {
            int kernelSize = seed % 2 == 0 ? 3 : 1;
            var (network, layer) = RandomCase(seed, convOnly: kernelSize != 1);
            var shapes = network.Shapes[layer];
            int kernel = network[layer] is Conv2dLayer conv ? conv.KernelSize : 1;
            var weights = RandomNetworks.Weights(network, seed, Precision.Float64);

            var outcome = new DeepenStep(layer, kernelSize).Apply(network, weights, new MorphContext(seed));

            int width = outcome.Solver!.Width;
            int counted = KernelFactorizer.AutomaticWidth(shapes.Output.Channels, shapes.Input.Channels, kernel, kernelSize, atLeast: shapes.Output.Channels);
            Assert.True(width >= counted, $"width {width} below the counted {counted}");
            if (width > counted)
            {
                // Allowed only where the dense factorisation one channel narrower is not exact.
                widened++;
                using var narrower = KernelFactorizer.NetMorphDense(weights[$"{layer}.weight"].ToTorch().reshape(
                    shapes.Output.Channels, shapes.Input.Channels, kernel, kernel), kernelSize, width - 1, seed);
                Assert.False(narrower.IsExact, $"width {width} but {width - 1} is exact for {layer} on {network}");
            }
        }
        output.WriteLine($"{widened} of {Cases} automatic widths exceeded the count");
    }
}
