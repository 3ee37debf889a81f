// The batch normalisation layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>Batch normalisation over channels (or features of a vector).</summary>
public sealed record BatchNormLayer(string Name, double Epsilon = 1e-5, double Momentum = 0.1) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "bn";

    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        yield return new(Name, "weight", [input.Channels], ParameterRole.NormScale);
        yield return new(Name, "bias", [input.Channels], ParameterRole.NormShift);
        yield return new(Name, "running_mean", [input.Channels], ParameterRole.RunningMean);
        yield return new(Name, "running_var", [input.Channels], ParameterRole.RunningVariance);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope) => input;

    internal override void Validate()
    {
        if (!(Epsilon > 0)) throw Invalid($"epsilon must be positive (got {Epsilon}).");
        if (!(Momentum > 0 && Momentum <= 1)) throw Invalid($"momentum must be in (0, 1] (got {Momentum}).");
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["bn"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(0, [], "eps", "momentum");
        return new BatchNormLayer(call.Name, call.Double("eps", 1e-5), call.Double("momentum", 0.1));
    }

    // The new channels normalise as (x − 0) / √(1 + ε) · 1 + 0: harmless, and they are never read.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        trace.Grow($"{Name}.weight", axis: 0, input.New, fill: 1);
        trace.Grow($"{Name}.bias", axis: 0, input.New);
        trace.Grow($"{Name}.running_mean", axis: 0, input.New);
        trace.Grow($"{Name}.running_var", axis: 0, input.New, fill: 1);
        return input;
    }

    internal override TextCall ToText(LayerWriter writer) => new TextCall("bn").Option("eps", Epsilon, 1e-5).Option("momentum", Momentum, 0.1);
}

/// <summary>Runs a <see cref="BatchNormLayer"/>, with running statistics (batch statistics in training mode).</summary>
internal sealed class BatchNormModule : LayerModule<BatchNormLayer>
{
    private readonly Parameter _weight;
    private readonly Parameter _bias;
    private readonly Tensor _runningMean;
    private readonly Tensor _runningVar;

    public BatchNormModule(BatchNormLayer layer, ModuleBuild build) : base(layer)
    {
        _weight = NewParameter($"{layer.Name}.weight", build);
        _bias = NewParameter($"{layer.Name}.bias", build);
        _runningMean = NewBuffer($"{layer.Name}.running_mean", build);
        _runningVar = NewBuffer($"{layer.Name}.running_var", build);
    }

    public override Tensor forward(Tensor input) =>
        nn.functional.batch_norm(input, _runningMean, _runningVar, _weight, _bias, training, Layer.Momentum, Layer.Epsilon);
}
