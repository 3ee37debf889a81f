// The flatten layer kind (C×H×W to a vector of C·H·W): description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>C×H×W becomes a vector of C·H·W (index c·H·W + h·W + w).</summary>
public sealed record FlattenLayer(string Name) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "flatten";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        // In double: three int dimensions can overflow a long.
        double size = input.Dimensions.Aggregate(1.0, (a, d) => a * d);
        if (size > int.MaxValue)
            throw Invalid($"flattening {input} gives {size:G4} values, more than a vector holds ({int.MaxValue:N0}).");
        return TensorShape.Vector((int)size);
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["flatten"];

    static Layer ILayerText.Read(LayerCall call) => new FlattenLayer(call.NameWithoutArguments());

    // Channel c ≥ C becomes features c·H·W ..., after the old ones.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        var shape = trace.Network.Shapes[Name].Input;
        return input.Times(shape.Height * shape.Width);
    }

    internal override TextCall ToText(LayerWriter writer) => new("flatten");
}

/// <summary>Runs a <see cref="FlattenLayer"/>.</summary>
internal sealed class FlattenModule(FlattenLayer layer) : LayerModule<FlattenLayer>(layer)
{
    public override Tensor forward(Tensor input) => input.flatten(1);
}
