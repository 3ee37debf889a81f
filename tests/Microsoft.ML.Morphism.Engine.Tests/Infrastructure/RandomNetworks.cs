using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Infrastructure;

/// <summary>
/// Generators for property tests: random small architectures (conv→BN→activation stacks, strides,
/// pooling, parallel blocks, skips, flatten/GAP heads, MLPs) and random weights in which nothing is
/// trivially zero or one (BatchNorm statistics, biases, skip projections and P-activation a included).
/// </summary>
internal static class RandomNetworks
{
    private static readonly ActivationKind[] Kinds = Enum.GetValues<ActivationKind>();

    /// <summary>A random convolutional classifier, deterministic in <paramref name="seed"/>.</summary>
    public static NetworkDescription Cnn(int seed, ActivationKind? activation = null, bool allowBlocks = true)
    {
        var random = new Random(seed);
        int size = random.Next(8, 15);
        var builder = new NetworkBuilder(TensorShape.Image(random.Next(1, 4), size, size));
        int blocks = random.Next(1, 4);
        int spatial = size;
        var skipSources = new List<(string Name, int Spatial)>();
        int index = 0;
        for (int b = 0; b < blocks; b++)
        {
            int width = random.Next(2, 9);
            int kernel = new[] { 1, 3, 3, 5 }[random.Next(4)];
            int stride = spatial >= 8 && random.Next(4) == 0 ? 2 : 1;
            var conv = $"c{index++}";
            if (allowBlocks && random.Next(5) == 0)
            {
                // A parallel block whose first branch is a conv and second a conv of another kernel.
                int k2 = kernel == 1 ? 3 : 1;
                builder.Parallel($"p{index}",
                    br => br.Conv(width, kernel, stride: stride, name: conv),
                    br => br.Conv(width, k2, stride: stride, name: $"c{index++}"));
            }
            else
            {
                builder.Conv(width, kernel, stride: stride, name: conv);
            }
            spatial = (spatial - 1) / stride + 1;
            if (random.Next(2) == 0)
                builder.BatchNorm(name: $"bn{index++}");
            var kind = activation ?? Kinds[random.Next(Kinds.Length)];
            builder.Activation(kind, parametric: random.Next(4) == 0, name: $"a{index++}");
            var activationName = $"a{index - 1}";
            var compatible = skipSources.Where(s => s.Spatial == spatial).ToList();
            if (allowBlocks && compatible.Count > 0 && random.Next(3) == 0)
                builder.Skip(compatible[random.Next(compatible.Count)].Name, name: $"s{index++}");
            skipSources.Add((activationName, spatial));
            if (spatial >= 6 && random.Next(3) == 0)
            {
                builder.MaxPool(2, name: $"mp{index++}");
                spatial /= 2;
            }
        }
        if (random.Next(2) == 0)
            builder.Flatten(name: "flat");
        else
            builder.GlobalAvgPool(name: "gap");
        if (random.Next(2) == 0)
        {
            builder.Dense(random.Next(3, 10), name: "hidden");
            builder.Activation(activation ?? Kinds[random.Next(Kinds.Length)], name: "hidden_act");
        }
        builder.Dense(random.Next(2, 7), name: "logits");
        return builder.Build();
    }

    /// <summary>A random multi-layer perceptron on vectors.</summary>
    public static NetworkDescription Mlp(int seed, ActivationKind? activation = null)
    {
        var random = new Random(seed);
        var builder = new NetworkBuilder(TensorShape.Vector(random.Next(3, 12)));
        int layers = random.Next(1, 4);
        for (int i = 0; i < layers; i++)
        {
            builder.Dense(random.Next(2, 12), name: $"d{i}");
            if (random.Next(3) == 0)
                builder.BatchNorm(name: $"bn{i}");
            builder.Activation(activation ?? Kinds[random.Next(Kinds.Length)], name: $"a{i}");
        }
        builder.Dense(random.Next(2, 6), name: "logits");
        return builder.Build();
    }

    /// <summary>Random weights for <paramref name="network"/> with no trivially zero or identity values.</summary>
    public static NetworkWeights Weights(NetworkDescription network, int seed, Precision precision = Precision.Float32)
    {
        var random = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var tensors = new Dictionary<string, WeightTensor>();
        foreach (var spec in network.ParameterSpecs)
        {
            var values = new double[spec.Count];
            double fanIn = spec.Shape.Length > 1 ? spec.Shape.Skip(1).Aggregate(1L, (a, d) => a * d) : 1;
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = spec.Role switch
                {
                    ParameterRole.Weight => Normal() * Math.Sqrt(2 / fanIn),
                    ParameterRole.SkipProjection => Normal() * 0.3 / Math.Sqrt(fanIn),
                    ParameterRole.Bias or ParameterRole.NormShift => Normal() * 0.1,
                    ParameterRole.RunningMean => Normal() * 0.2,
                    ParameterRole.NormScale => 0.5 + random.NextDouble(),
                    ParameterRole.RunningVariance => 0.5 + random.NextDouble(),
                    ParameterRole.ActivationLinearity => random.NextDouble(),
                    _ => throw new ArgumentOutOfRangeException(nameof(network), spec.Role, null),
                };
            }
            tensors[spec.Key] = new WeightTensor(spec.Shape, values);
        }
        return new NetworkWeights(tensors, precision);
    }
}
