using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Infrastructure;

/// <summary>The bounds of network-morphism.md and one assertion that checks them.</summary>
internal static class Preservation
{
    /// <summary>fp32, one exact morph: max relative logit error.</summary>
    public const double Float32Step = 1e-5;
    /// <summary>fp32, a chain of morphs.</summary>
    public const double Float32Chain = 1e-4;
    /// <summary>fp64 (solvers in double).</summary>
    public const double Float64 = 1e-10;

    /// <summary>
    /// Verifies the child against the parent in both precisions on random inputs and asserts the
    /// bounds, the margin rule, and that the parent's description and weights are unchanged.
    /// </summary>
    public static MorphReport AssertPreserved(NetworkDescription parent, NetworkWeights parentWeights, string parentTextBefore,
        Dictionary<string, double[]> parentValuesBefore, NetworkDescription child, NetworkWeights childWeights,
        IEnumerable<MorphOutcome> outcomes, bool chain, int seed)
    {
        var steps = outcomes.ToList();
        var fp64 = MorphVerifier.Verify(parent, parentWeights.ToPrecision(Precision.Float64), child, childWeights.ToPrecision(Precision.Float64),
            randomInputs: 16, seed: seed, precision: Precision.Float64, outcomes: steps);
        var fp32 = MorphVerifier.Verify(parent, parentWeights, child, childWeights, randomInputs: 16, seed: seed, outcomes: steps);

        var context = $"{string.Join(" ", steps.Select(s => s.Step))} on {parentTextBefore}";
        Assert.True(fp64.MaxRelError <= Float64, $"fp64 rel error {fp64.MaxRelError:E2} > {Float64:E0}: {context}");
        double bound = chain ? Float32Chain : Float32Step;
        Assert.True(fp32.MaxRelError <= bound, $"fp32 rel error {fp32.MaxRelError:E2} > {bound:E0}: {context}");
        Assert.True(fp32.PredictionsAgree, $"predictions differ outside the error margin: {context}");
        AssertUnchanged(parent, parentWeights, parentTextBefore, parentValuesBefore);
        return fp32;
    }

    /// <summary>A deep copy of the values, to check later that nothing modified the weights.</summary>
    public static Dictionary<string, double[]> Snapshot(NetworkWeights weights) =>
        weights.Keys.ToDictionary(k => k, k => weights[k].Values.ToArray());

    /// <summary>Asserts the parent's description prints the same and every weight value is bit-identical.</summary>
    public static void AssertUnchanged(NetworkDescription parent, NetworkWeights weights, string textBefore, Dictionary<string, double[]> valuesBefore)
    {
        Assert.Equal(textBefore, parent.ToString());
        Assert.Equal(valuesBefore.Keys.OrderBy(k => k, StringComparer.Ordinal), weights.Keys);
        foreach (var (key, values) in valuesBefore)
            Assert.True(values.AsSpan().SequenceEqual(weights[key].Values), $"parent weights '{key}' changed");
    }
}
