// The immutable description of a classifier network: input shape plus named layers, shape-checked.
using System.Collections.Immutable;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// An immutable, shape-checked description of a network: the input shape and a sequence of uniquely
/// named layers (parallel blocks nest sequences). The last layer's output is the logits; for a
/// classifier it is a dense layer sized to the class count. Build one with <see cref="NetworkBuilder"/>
/// or <see cref="Parse(string)"/>; print it with <see cref="ToString"/> (round-trips through
/// <see cref="Parse(string)"/>), <see cref="ToJson"/> or <see cref="Summary()"/>.
/// </summary>
public sealed partial class NetworkDescription : IEquatable<NetworkDescription>
{
    private readonly ShapeScope _scope;

    /// <summary>
    /// Creates a description; throws an <see cref="ArgumentException"/> naming the layer when names or shapes do not fit, or
    /// when the network is beyond <see cref="NetworkLimits.Current"/>.
    /// </summary>
    public NetworkDescription(TensorShape input, IEnumerable<Layer> layers)
    {
        if (input.Dimensions.IsDefault)
            throw new ArgumentException("The network input shape is not set.", nameof(input));
        Input = input;
        Layers = [.. layers];
        if (Layers.IsEmpty)
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));
        CheckStructure(Layers, "at the top level");
        CheckNames(Layers);

        _scope = new ShapeScope(input);
        var shape = input;
        foreach (var layer in Layers)
            shape = _scope.InferTopLevel(layer, shape);
        Output = shape;
        NetworkLimits.Current.Check(this);
    }

    /// <summary>The shape of one input example.</summary>
    public TensorShape Input { get; }

    /// <summary>The top-level layers in order.</summary>
    public ImmutableArray<Layer> Layers { get; }

    /// <summary>The shape of the network's output (the logits).</summary>
    public TensorShape Output { get; }

    /// <summary>Every layer's input and output shape, by layer name (nested layers included).</summary>
    public IReadOnlyDictionary<string, LayerShapes> Shapes => _scope.Shapes;

    /// <summary>Every parameter and buffer the network's weights must hold, in network order.</summary>
    public IReadOnlyList<ParameterSpec> ParameterSpecs => _scope.Parameters;

    /// <summary>Number of values learned by gradient descent.</summary>
    public long TrainableParameterCount => ParameterSpecs.Where(p => !p.IsBuffer).Sum(p => p.Count);

    /// <summary>Number of all stored values (trainable parameters and BatchNorm running statistics).</summary>
    public long ParameterCount => ParameterSpecs.Sum(p => p.Count);

    /// <summary>Every layer, depth-first (a parallel block before its branches' layers).</summary>
    public IEnumerable<Layer> AllLayers() => Flatten(Layers);

    /// <summary>True when a layer of that name exists anywhere in the network.</summary>
    public bool Contains(string name) => Shapes.ContainsKey(name);

    /// <summary>The layer called <paramref name="name"/>; an <see cref="ArgumentException"/> listing the valid names when there is none.</summary>
    public Layer this[string name] => Locate(name).Layer(this);

    /// <summary>Where the layer called <paramref name="name"/> is; an <see cref="ArgumentException"/> listing the valid names when there is none.</summary>
    public LayerLocation Locate(string name)
    {
        if (TryLocate(Layers, name, ImmutableArray<(int, int)>.Empty, out var location))
            return location;
        throw new ArgumentException($"No layer named '{name}'. Layers: {string.Join(", ", AllLayers().Select(l => l.Name))}.", nameof(name));
    }

    /// <summary>A name not used in this network: <paramref name="candidate"/>, else candidate_2, candidate_3, ...</summary>
    public string UniqueName(string candidate, IEnumerable<string>? alsoTaken = null)
    {
        var taken = new HashSet<string>(Shapes.Keys, StringComparer.Ordinal) { SkipLayer.NetworkInput };
        if (alsoTaken is not null)
            taken.UnionWith(alsoTaken);
        if (!taken.Contains(candidate))
            return candidate;
        for (int i = 2; ; i++)
            if (!taken.Contains($"{candidate}_{i}"))
                return $"{candidate}_{i}";
    }

    /// <summary>A new description with the layers <c>[start, start + count)</c> of one sequence replaced.</summary>
    public NetworkDescription Replace(LayerLocation location, int start, int count, IEnumerable<Layer> replacement) =>
        new(Input, ReplaceIn(Layers, location.Path, 0, start, count, [.. replacement]));

    /// <summary>A new description with the layer at <paramref name="location"/> replaced by <paramref name="replacement"/>.</summary>
    public NetworkDescription Replace(LayerLocation location, params Layer[] replacement) =>
        Replace(location, location.Index, 1, replacement);

    /// <summary>A new description with <paramref name="layers"/> inserted right after the layer at <paramref name="location"/>.</summary>
    public NetworkDescription InsertAfter(LayerLocation location, params Layer[] layers) =>
        Replace(location, location.Index + 1, 0, layers);

    /// <inheritdoc/>
    public bool Equals(NetworkDescription? other) =>
        other is not null && Input == other.Input && Layers.SequenceEqual(other.Layers);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as NetworkDescription);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Input, Layers.Length, Layers[0].Name);

    private static IEnumerable<Layer> Flatten(ImmutableArray<Layer> layers)
    {
        foreach (var layer in layers)
        {
            yield return layer;
            if (layer is ParallelLayer parallel)
                foreach (var nested in parallel.Branches.SelectMany(Flatten))
                    yield return nested;
        }
    }

    private static bool TryLocate(ImmutableArray<Layer> layers, string name, ImmutableArray<(int, int)> path, out LayerLocation location)
    {
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i].Name == name)
            {
                location = new LayerLocation(path, i);
                return true;
            }
            if (layers[i] is ParallelLayer parallel)
                for (int b = 0; b < parallel.Branches.Length; b++)
                    if (TryLocate(parallel.Branches[b], name, path.Add((i, b)), out location))
                        return true;
        }
        location = default!;
        return false;
    }

    private static ImmutableArray<Layer> ReplaceIn(ImmutableArray<Layer> layers, ImmutableArray<(int Index, int Branch)> path, int depth,
        int start, int count, ImmutableArray<Layer> replacement)
    {
        if (depth == path.Length)
            return layers.RemoveRange(start, count).InsertRange(start, replacement);
        var (index, branch) = path[depth];
        var parallel = (ParallelLayer)layers[index];
        var branches = parallel.Branches.SetItem(branch, ReplaceIn(parallel.Branches[branch], path, depth + 1, start, count, replacement));
        return layers.SetItem(index, parallel with { Branches = branches });
    }

    // Deserialised descriptions can hold nulls and default arrays that records' constructors never see.
    private static void CheckStructure(ImmutableArray<Layer> layers, string where)
    {
        foreach (var layer in layers)
        {
            if (layer is null)
                throw new ArgumentException($"A layer {where} is null.");
            if (layer is not ParallelLayer parallel)
                continue;
            if (parallel.Branches.IsDefault || parallel.Branches.Any(b => b.IsDefault))
                throw new ArgumentException($"Layer '{parallel.Name}': its branches are missing.");
            foreach (var branch in parallel.Branches)
                CheckStructure(branch, $"in a branch of '{parallel.Name}'");
        }
    }

    private static void CheckNames(ImmutableArray<Layer> layers)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var layer in Flatten(layers))
        {
            if (layer.Name is null || !NamePattern().IsMatch(layer.Name))
                throw new ArgumentException($"Layer name '{layer.Name}' is not valid: use letters, digits and '_', starting with a letter or '_'.");
            if (layer.Name == SkipLayer.NetworkInput)
                throw new ArgumentException($"'{SkipLayer.NetworkInput}' is reserved for the network input and cannot name a layer.");
            if (!seen.Add(layer.Name))
                throw new ArgumentException($"Layer name '{layer.Name}' is used twice; layer names must be unique.");
        }
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex NamePattern();
}

/// <summary>
/// Where a layer sits: the path of (parallel block index, branch index) pairs from the top-level
/// sequence down to the sequence that holds it, and its index in that sequence.
/// </summary>
public sealed record LayerLocation(ImmutableArray<(int Index, int Branch)> Path, int Index)
{
    /// <summary>True for a layer of the top-level sequence.</summary>
    public bool IsTopLevel => Path.IsEmpty;

    /// <summary>The sequence (top level or a branch) that holds the layer.</summary>
    public ImmutableArray<Layer> Sequence(NetworkDescription network)
    {
        var layers = network.Layers;
        foreach (var (index, branch) in Path)
            layers = ((ParallelLayer)layers[index]).Branches[branch];
        return layers;
    }

    /// <summary>The layer itself.</summary>
    public Layer Layer(NetworkDescription network) => Sequence(network)[Index];

    /// <summary>The parallel block that directly holds this layer's branch, or null at top level.</summary>
    public LayerLocation? Parent => Path.IsEmpty ? null : new LayerLocation(Path.RemoveAt(Path.Length - 1), Path[^1].Index);
}
