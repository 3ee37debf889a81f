// Applies one morph step in both precisions and checks the preservation bounds: the shape-morph tests' common assertion.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

/// <summary>The relative logit errors one step produced: fp64 morph run in fp64, and fp32 morph run in fp32.</summary>
internal readonly record struct StepErrors(double Float64, double Float32)
{
    public static StepErrors Max(IEnumerable<StepErrors> errors) =>
        errors.Aggregate(new StepErrors(0, 0), (a, e) => new(Math.Max(a.Float64, e.Float64), Math.Max(a.Float32, e.Float32)));

    public override string ToString() => $"max rel logit error: fp64 {Float64:E2}, fp32 {Float32:E2}";
}

internal static class StepChecks
{
    /// <summary>
    /// Applies <paramref name="step"/> to fp64 weights (asserting the fp64 bound, the fp32 bound after
    /// rounding, the margin rule and an unchanged parent via <see cref="Preservation.AssertPreserved"/>)
    /// and to fp32 weights (asserting the child stays fp32, meets the fp32 bound by itself, has the same
    /// architecture, and the parent is unchanged). Weights exact in one precision need not be exact in the
    /// other (F1 = G − F2 rounds), which is why each precision is morphed separately.
    /// </summary>
    public static StepErrors AssertPreserves(NetworkDescription parent, MorphStep step, int seed, WeightTensor? sample = null)
    {
        var text = parent.ToString();

        var weights64 = RandomNetworks.Weights(parent, seed, Precision.Float64);
        var before64 = Preservation.Snapshot(weights64);
        var outcome64 = step.Apply(parent, weights64, new MorphContext(seed, sample));
        Assert.Equal(Precision.Float64, outcome64.Weights.Precision);
        Preservation.AssertPreserved(parent, weights64, text, before64, outcome64.Network, outcome64.Weights, [outcome64], chain: false, seed);
        var fp64 = MorphVerifier.Verify(parent, weights64, outcome64, randomInputs: 16, seed: seed, precision: Precision.Float64);

        var weights32 = RandomNetworks.Weights(parent, seed, Precision.Float32);
        var before32 = Preservation.Snapshot(weights32);
        var outcome32 = step.Apply(parent, weights32, new MorphContext(seed, sample));
        Assert.Equal(Precision.Float32, outcome32.Weights.Precision);
        Assert.Equal(outcome64.Network, outcome32.Network);
        var fp32 = MorphVerifier.Verify(parent, weights32, outcome32, randomInputs: 16, seed: seed);
        Assert.True(fp32.MaxRelError <= Preservation.Float32Step, $"fp32 rel error {fp32.MaxRelError:E2} > {Preservation.Float32Step:E0}: {step} on {text}");
        Assert.True(fp32.PredictionsAgree, $"fp32 predictions differ outside the error margin: {step} on {text}");
        Preservation.AssertUnchanged(parent, weights32, text, before32);

        return new StepErrors(fp64.MaxRelError, fp32.MaxRelError);
    }

    /// <summary>A random network for property case <paramref name="seed"/>: mostly CNNs, every fourth an MLP.</summary>
    public static NetworkDescription Network(int seed) => seed % 4 == 3 ? RandomNetworks.Mlp(seed) : RandomNetworks.Cnn(seed);

    /// <summary>A standard-normal batch of <paramref name="count"/> inputs for <paramref name="network"/>, scaled and shifted.</summary>
    public static WeightTensor Inputs(NetworkDescription network, int count, int seed, double scale = 1, double shift = 0)
    {
        var random = new Random(seed);
        var shape = network.Input.WithBatch(count);
        var values = new double[shape.Aggregate(1L, (a, d) => a * d)];
        for (int i = 0; i < values.Length; i++)
            values[i] = shift + scale * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return new WeightTensor(shape, values);
    }

    /// <summary>Every (source, target) of top-level blobs a skip can join: same kind, same spatial size.</summary>
    public static List<(string From, string To)> CompatibleSkips(NetworkDescription net)
    {
        var blobs = net.Layers.Select(l => (l.Name, Shape: net.Shapes[l.Name].Output)).Prepend((Name: "input", Shape: net.Input)).ToList();
        return [.. from i in Enumerable.Range(0, blobs.Count)
                   from j in Enumerable.Range(i + 1, blobs.Count - i - 1)
                   let a = blobs[i].Shape
                   let b = blobs[j].Shape
                   where a.IsImage == b.IsImage && a.Height == b.Height && a.Width == b.Width
                   select (blobs[i].Name, blobs[j].Name)];
    }

    /// <summary>Kernel sizes of the conv's parity whose branch padding is not negative (up to 5).</summary>
    public static List<int> AlignableKernels(Conv2dLayer conv) =>
        [.. Enumerable.Range(1, 5).Where(k => (k - conv.KernelSize) % 2 == 0 && conv.Padding + conv.Dilation * (k - conv.KernelSize) / 2 >= 0)];
}
