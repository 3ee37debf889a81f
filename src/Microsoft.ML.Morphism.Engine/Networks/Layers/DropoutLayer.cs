// The dropout layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using TorchSharp;
using static TorchSharp.torch;

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

    // Per value: the new channels pass through.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace) => input;

    internal override TextCall ToText(LayerWriter writer) => new TextCall("dropout").Add(Rate);
}

/// <summary>Runs a <see cref="DropoutLayer"/>: in training mode, zeroes each value with probability rate and scales the rest by 1 / (1 − rate).</summary>
internal sealed class DropoutModule(DropoutLayer layer) : LayerModule<DropoutLayer>(layer)
{
    public override Tensor forward(Tensor input) => Drop(input, random: null);

    /// <summary>Draws the mask from the pass's generator (a trainer's own, seeded).</summary>
    public override Tensor Run(Tensor input, NetworkPass pass) => Drop(input, pass.Random);

    private Tensor Drop(Tensor x, Generator? random)
    {
        if (!training || Layer.Rate == 0)
            return x;
        // Scalars held until their calls return: see HeldScalars.
        using var rate = Layer.Rate.ToScalar();
        using var scale = (1 - Layer.Rate).ToScalar();
        var keep = rand(x.shape, x.dtype, x.device, generator: random).ge_(rate);
        return x.mul(keep).div_(scale);
    }
}
