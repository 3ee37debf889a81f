// The dropout layer kind.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>Dropout with drop probability <see cref="Rate"/> (training only).</summary>
public sealed record DropoutLayer(string Name, double Rate) : Layer(Name)
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "dropout";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope) => input;

    internal override void Validate()
    {
        if (!(Rate >= 0 && Rate < 1)) throw Invalid($"rate must be in [0, 1) (got {Rate}).");
    }
}
