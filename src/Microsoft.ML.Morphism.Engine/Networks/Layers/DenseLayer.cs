// The fully connected layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>Fully connected layer on a vector input: <see cref="Units"/> outputs.</summary>
public sealed record DenseLayer(string Name, int Units, bool Bias = true) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "dense";

    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        yield return new(Name, "weight", [Units, input.Channels], ParameterRole.Weight);
        if (Bias)
            yield return new(Name, "bias", [Units], ParameterRole.Bias);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        if (input.IsImage)
            throw Invalid($"a dense layer needs a vector input but receives {input}; put 'flatten' or 'gap' before it.");
        return TensorShape.Vector(Units);
    }

    internal override void Validate()
    {
        if (Units <= 0) throw Invalid($"units must be positive (got {Units}).");
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["dense"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(1, ["the number of units"], "bias");
        return new DenseLayer(call.Name, call.Int(0), call.Bool("bias", true));
    }

    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        trace.Grow($"{Name}.weight", axis: 1, input.New);
        return null;
    }

    internal override TextCall ToText(LayerWriter writer) => new TextCall("dense").Add(Units).Option("bias", Bias, true);
}

/// <summary>Runs a <see cref="DenseLayer"/>: x·Wᵀ + b.</summary>
internal sealed class DenseModule : LayerModule<DenseLayer>
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public DenseModule(DenseLayer layer, ModuleBuild build) : base(layer)
    {
        _weight = NewParameter($"{layer.Name}.weight", build);
        _bias = layer.Bias ? NewParameter($"{layer.Name}.bias", build) : null;
    }

    public override Tensor forward(Tensor input) => nn.functional.linear(input, _weight, _bias);
}
