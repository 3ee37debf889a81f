// The skip (residual) connection layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

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

    // The skip adds its projection to a widened input: the projection needs zero rows for the new channels.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        trace.Grow($"{Name}.weight", axis: 0, input.New);
        return input;
    }

    // Its source grew: the projection needs zero columns for the new channels.
    internal override void WidenSources(IWidenTrace trace)
    {
        if (trace.TopLevelBlob(From) is { } source)
            trace.Grow($"{Name}.weight", axis: 1, source.New);
    }

    internal override TextCall ToText(LayerWriter writer) => new TextCall("skip").Add(From);
}

/// <summary>Runs a <see cref="SkipLayer"/>: its input plus a zero-initialised projection (1×1 conv or dense, no bias) of its source blob.</summary>
internal sealed class SkipModule : LayerModule<SkipLayer>
{
    private readonly Parameter _weight;
    private readonly Platform.ConvolutionShape? _shape;

    public SkipModule(SkipLayer layer, ModuleBuild build) : base(layer)
    {
        _weight = NewParameter($"{layer.Name}.weight", build);
        _shape = build.Convolutions.TryGetValue(layer.Name, out var shape) ? shape : null; // null: a vector skip
    }

    public override IEnumerable<string> Sources => [Layer.From];

    /// <summary>The projection of the source blob.</summary>
    public override Tensor forward(Tensor source) =>
        _shape is { } shape ? GuardedConvolution.Conv2d(shape, source, _weight, null, 1, 0, 1, 1) : nn.functional.linear(source, _weight);

    public override Tensor Run(Tensor input, NetworkPass pass) => HeldScalars.Add(input, forward(pass.Blobs[Layer.From]));
}
