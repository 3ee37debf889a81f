// Random weights in which nothing is trivially zero or one: preservation must not pass because BN is the identity or biases are 0.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Benchmarks.Data;

internal static class RandomWeights
{
    /// <summary>
    /// He-normal conv/dense weights, random biases, BatchNorm statistics and scales away from the
    /// identity, P-activation a in (0, 1); deterministic in <paramref name="seed"/>.
    /// </summary>
    public static NetworkWeights For(NetworkDescription network, int seed, Precision precision)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var spec in network.ParameterSpecs)
        {
            double fanIn = spec.Shape.Length > 1 ? spec.Shape.Skip(1).Aggregate(1L, (a, d) => a * d) : 1;
            var values = new double[spec.Count];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = spec.Role switch
                {
                    ParameterRole.Weight => Normal() * Math.Sqrt(2 / fanIn),
                    ParameterRole.SkipProjection => Normal() * 0.3 / Math.Sqrt(fanIn),
                    ParameterRole.Bias or ParameterRole.NormShift => Normal() * 0.1,
                    ParameterRole.RunningMean => Normal() * 0.2,
                    ParameterRole.NormScale or ParameterRole.RunningVariance => 0.5 + random.NextDouble(),
                    ParameterRole.ActivationLinearity => random.NextDouble(),
                    _ => throw new ArgumentOutOfRangeException(nameof(network), spec.Role, "A parameter role this generator does not know."),
                };
            }
            tensors[spec.Key] = new WeightTensor(spec.Shape, values);
        }
        return new NetworkWeights(tensors, precision);
    }

    /// <summary>A batch of standard-normal inputs shaped [count, ...network input].</summary>
    public static WeightTensor Inputs(NetworkDescription network, int count, int seed)
    {
        var random = new Random(seed);
        var shape = network.Input.WithBatch(count);
        var values = new double[shape.Aggregate(1L, (a, d) => a * d)];
        for (int i = 0; i < values.Length; i++)
            values[i] = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        return new WeightTensor(shape, values);
    }
}
