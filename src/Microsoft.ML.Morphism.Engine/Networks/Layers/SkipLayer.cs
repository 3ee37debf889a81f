// The skip (residual) connection layer kind.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// A skip (residual) connection: adds a 1×1 convolution (or, for vectors, a dense projection) of the
/// output of the earlier top-level layer <see cref="From"/> (or of the network input, <c>"input"</c>)
/// to its input. Created zero-initialised, so it starts as the identity. Spatial sizes must match.
/// </summary>
public sealed record SkipLayer(string Name, string From) : Layer(Name), ILayerText
{
    /// <summary>The name that refers to the network input as a skip source.</summary>
    public const string NetworkInput = "input";

    /// <inheritdoc/>
    public override string DefaultNamePrefix => "skip";

    /// <summary>The projection's weight: [C_to, C_from, 1, 1] for image blobs, [D_to, D_from] for vectors.</summary>
    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        var source = scope.BlobShape(From, this);
        yield return input.IsImage
            ? new(Name, "weight", [input.Channels, source.Channels, 1, 1], ParameterRole.SkipProjection)
            : new(Name, "weight", [input.Channels, source.Channels], ParameterRole.SkipProjection);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        var source = scope.BlobShape(From, this);
        if (source.IsImage != input.IsImage)
            throw Invalid($"cannot add '{From}' ({source}) to an input of {input}: one is an image blob, the other a vector.");
        if (source.IsImage && (source.Height != input.Height || source.Width != input.Width))
            throw Invalid($"cannot add '{From}' ({source}) to an input of {input}: spatial sizes differ.");
        return input;
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["skip"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(1, ["the name of its source layer"]);
        return new SkipLayer(call.Name, call.Word(0));
    }

    internal override TextCall ToText(LayerWriter writer) => new TextCall("skip").Add(From);
}
