// The values of every parameter of a network, by key ("conv1.weight"), immutable.
using System.Collections.Immutable;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>The numeric precision a network runs in.</summary>
public enum Precision
{
    /// <summary>32-bit floats (training and scoring).</summary>
    Float32,
    /// <summary>64-bit floats (exactness checks).</summary>
    Float64,
}

/// <summary>
/// An immutable map from parameter key (<c>"{layer}.{parameter}"</c>, see <see cref="ParameterSpec"/>)
/// to values, with the precision the network runs in. For <see cref="Precision.Float32"/> every value
/// is rounded to float on the way in, so what is stored is exactly what runs.
/// </summary>
public sealed class NetworkWeights
{
    private readonly ImmutableSortedDictionary<string, WeightTensor> _tensors;

    /// <summary>Creates weights from tensors by key.</summary>
    public NetworkWeights(IEnumerable<KeyValuePair<string, WeightTensor>> tensors, Precision precision = Precision.Float32)
    {
        Precision = precision;
        _tensors = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
            precision == Precision.Float32 ? tensors.Select(kv => KeyValuePair.Create(kv.Key, kv.Value.RoundedToFloat32())) : tensors);
    }

    /// <summary>The precision the network runs in.</summary>
    public Precision Precision { get; }

    /// <summary>All keys, ordinal order.</summary>
    public IEnumerable<string> Keys => _tensors.Keys;

    /// <summary>Number of stored values.</summary>
    public long ValueCount => _tensors.Values.Sum(t => (long)t.Count);

    /// <summary>The tensor stored under <paramref name="key"/>.</summary>
    public WeightTensor this[string key] =>
        _tensors.TryGetValue(key, out var tensor) ? tensor
        : throw new ArgumentException($"No weights under '{key}'.", nameof(key));

    /// <summary>True when <paramref name="key"/> is present.</summary>
    public bool Contains(string key) => _tensors.ContainsKey(key);

    /// <summary>New weights with <paramref name="key"/> set (added or replaced).</summary>
    public NetworkWeights With(string key, WeightTensor tensor) => new(_tensors.SetItem(key, tensor), Precision);

    /// <summary>New weights with several keys set.</summary>
    public NetworkWeights With(IEnumerable<KeyValuePair<string, WeightTensor>> tensors) => new(_tensors.SetItems(tensors), Precision);

    /// <summary>New weights without the given keys.</summary>
    public NetworkWeights Without(IEnumerable<string> keys) => new(_tensors.RemoveRange(keys), Precision);

    /// <summary>The same values at another precision (rounded when going to float32).</summary>
    public NetworkWeights ToPrecision(Precision precision) => precision == Precision ? this : new(_tensors, precision);

    /// <summary>
    /// Checks the weights fit <paramref name="network"/>: exactly its keys, with its shapes, all finite.
    /// Throws an <see cref="ArgumentException"/> naming the first key that does not fit.
    /// </summary>
    public void Validate(NetworkDescription network)
    {
        var expected = network.ParameterSpecs.ToDictionary(p => p.Key, StringComparer.Ordinal);
        foreach (var spec in expected.Values)
        {
            if (!_tensors.TryGetValue(spec.Key, out var tensor))
                throw new ArgumentException($"Weights are missing '{spec.Key}' (shape [{string.Join(", ", spec.Shape)}]).");
            if (!tensor.Shape.SequenceEqual(spec.Shape))
                throw new ArgumentException($"Weights '{spec.Key}' have shape {tensor.ShapeText} but the network needs [{string.Join(", ", spec.Shape)}].");
            if (!tensor.IsFinite())
                throw new ArgumentException($"Weights '{spec.Key}' contain NaN or infinite values.");
        }
        var extra = _tensors.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (extra.Count > 0)
            throw new ArgumentException($"Weights hold keys the network does not have: {string.Join(", ", extra)}.");
    }

    /// <summary>
    /// Fresh weights for <paramref name="network"/>, deterministic in <paramref name="seed"/>: He-normal
    /// conv/dense weights (std √(2 / fan-in)), zero biases, identity BatchNorm, zero skip projections,
    /// P-activations at a = 0.25.
    /// </summary>
    public static NetworkWeights Initialize(NetworkDescription network, int seed, Precision precision = Precision.Float32)
    {
        var random = new GaussianRandom(seed);
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var spec in network.ParameterSpecs)
            tensors[spec.Key] = InitialValue(spec, random);
        return new NetworkWeights(tensors, precision);
    }

    /// <summary>The initial value of one parameter (used by initialisation and by morphs that add layers).</summary>
    internal static WeightTensor InitialValue(ParameterSpec spec, GaussianRandom random) => spec.Role switch
    {
        ParameterRole.Weight => WeightTensor.Wrap(spec.Shape, random.Normal(spec.Count, Math.Sqrt(2.0 / FanIn(spec.Shape)))),
        ParameterRole.NormScale or ParameterRole.RunningVariance => WeightTensor.Filled(1.0, spec.Shape),
        ParameterRole.ActivationLinearity => WeightTensor.Filled(0.25, spec.Shape),
        _ => WeightTensor.Zeros(spec.Shape),
    };

    /// <summary>Inputs feeding one output of a weight tensor: in-channels × kernel area, or dense inputs.</summary>
    internal static long FanIn(IReadOnlyList<long> weightShape) => weightShape.Skip(1).Aggregate(1L, (a, d) => a * d);
}
