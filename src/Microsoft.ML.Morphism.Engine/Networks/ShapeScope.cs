// Walks a network once, checking every layer and recording the shapes that flow into and out of it.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>The input and output shape of one layer, as shape inference found them.</summary>
public readonly record struct LayerShapes(TensorShape Input, TensorShape Output);

/// <summary>
/// Shape inference state: the shapes of the top-level blobs seen so far (the sources skip layers may
/// read) and every layer's input/output shapes and parameters.
/// </summary>
internal sealed class ShapeScope
{
    private readonly Dictionary<string, TensorShape> _topLevelBlobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LayerShapes> _shapes = new(StringComparer.Ordinal);
    private readonly List<ParameterSpec> _parameters = [];

    public ShapeScope(TensorShape input) => _topLevelBlobs[SkipLayer.NetworkInput] = input;

    public IReadOnlyDictionary<string, LayerShapes> Shapes => _shapes;

    public IReadOnlyList<ParameterSpec> Parameters => _parameters;

    /// <summary>Checks <paramref name="layer"/>, infers its output shape and records it (nested layers included).</summary>
    public TensorShape Infer(Layer layer, TensorShape input)
    {
        try
        {
            layer.Validate();
            var output = layer.InferShape(input, this);
            _ = output.Size;
            _shapes[layer.Name] = new LayerShapes(input, output);
            var parameters = layer.Parameters(input, this).ToList();
            foreach (var p in parameters)
                _ = p.Count;
            _parameters.AddRange(parameters);
            return output;
        }
        catch (OverflowException e)
        {
            // Forged or mistyped sizes (a kernel of a million, a stride of 2^30): named, never a bare overflow or a wrapped value.
            throw new ArgumentException($"Layer '{layer.Name}': its sizes overflow ({e.Message}); they are far beyond the network limits ({nameof(NetworkLimits)}).", e);
        }
    }

    /// <summary>Infers a top-level layer and makes its output available to later skip layers.</summary>
    public TensorShape InferTopLevel(Layer layer, TensorShape input)
    {
        var output = Infer(layer, input);
        _topLevelBlobs[layer.Name] = output;
        return output;
    }

    /// <summary>The shape of an earlier top-level blob (a skip source).</summary>
    public TensorShape BlobShape(string name, Layer reader)
    {
        if (_topLevelBlobs.TryGetValue(name, out var shape))
            return shape;
        var earlier = string.Join(", ", _topLevelBlobs.Keys.Select(k => $"'{k}'"));
        throw new ArgumentException($"Layer '{reader.Name}': '{name}' is not an earlier top-level layer; valid sources here: {earlier}.");
    }
}
