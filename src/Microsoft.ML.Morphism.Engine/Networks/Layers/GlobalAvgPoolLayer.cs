// The global average pooling layer kind (C×H×W to a vector of C): description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>Mean over the spatial dimensions: C×H×W becomes a vector of C.</summary>
public sealed record GlobalAvgPoolLayer(string Name) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "gap";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        RequireImage(input, "global average pooling");
        return TensorShape.Vector(input.Channels);
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["gap"];

    static Layer ILayerText.Read(LayerCall call) => new GlobalAvgPoolLayer(call.NameWithoutArguments());

    // Channel c becomes feature c: the new channels pass through.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace) => input;

    internal override TextCall ToText(LayerWriter writer) => new("gap");
}

/// <summary>Runs a <see cref="GlobalAvgPoolLayer"/>.</summary>
internal sealed class GlobalAvgPoolModule(GlobalAvgPoolLayer layer) : LayerModule<GlobalAvgPoolLayer>(layer)
{
    public override Tensor forward(Tensor input) => input.mean([2, 3]);
}
