// The dropout layer kind.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>Dropout with drop probability <see cref="Rate"/> (training only).</summary>
public sealed record DropoutLayer(string Name, double Rate) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "dropout";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope) => input;

    internal override void Validate()
    {
        if (!(Rate >= 0 && Rate < 1)) throw Invalid($"rate must be in [0, 1) (got {Rate}).");
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["dropout"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(1, ["the dropout rate"]);
        return new DropoutLayer(call.Name, call.Double(0));
    }

    internal override TextCall ToText(LayerWriter writer) => new TextCall("dropout").Add(Rate);
}
