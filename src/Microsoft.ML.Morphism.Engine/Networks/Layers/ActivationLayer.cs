// The element-wise activation layer kind (plain or the P-activation a depth morph inserts): the functions, description, text form, width-morph rule and module.
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>The element-wise non-linearities.</summary>
public enum ActivationKind
{
    /// <summary>max(0, x).</summary>
    ReLU,
    /// <summary>tanh(x).</summary>
    TanH,
    /// <summary>1 / (1 + e^−x).</summary>
    Sigmoid,
    /// <summary>x for x &gt; 0, e^x − 1 otherwise (alpha 1).</summary>
    ELU,
    /// <summary>x·Φ(x) (exact, erf based).</summary>
    GELU,
}

/// <summary>
/// An element-wise activation φ. When <see cref="Parametric"/>, it is the P-activation
/// φₐ(x) = (1 − a)·φ(x) + a·x with one learnable <c>a</c> in [0, 1] (stored as <c>"{Name}.a"</c>);
/// a = 1 is the identity, which is how a depth morph inserts a layer without changing the function.
/// </summary>
public sealed record ActivationLayer(string Name, ActivationKind Activation, bool Parametric = false) : Layer(Name), ILayerText
{
    /// <summary>The text keyword: <c>relu</c>, <c>tanh</c>, ... with a <c>p</c> prefix when parametric.</summary>
    [JsonIgnore]
    public string Keyword => (Parametric ? "p" : "") + Activation.ToString().ToLowerInvariant();

    /// <inheritdoc/>
    public override string DefaultNamePrefix => Keyword;

    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        if (Parametric)
            yield return new(Name, "a", [1], ParameterRole.ActivationLinearity);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope) => input;

    // Declared before Keywords: static initializers run in textual order.
    private static readonly bool[] PlainThenParametric = [false, true];

    static IReadOnlyList<string> ILayerText.Keywords { get; } = [.. Every("").Select(layer => layer.Keyword)];

    static Layer ILayerText.Read(LayerCall call) => Every(call.NameWithoutArguments()).First(layer => layer.Keyword == call.Keyword);

    // Every kind, plain then parametric: one layer per keyword.
    private static IEnumerable<ActivationLayer> Every(string name) =>
        PlainThenParametric.SelectMany(p => Enum.GetValues<ActivationKind>().Select(k => new ActivationLayer(name, k, p)));

    // Per channel (a P-activation's one a is shared): the new channels pass through.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace) => input;

    internal override TextCall ToText(LayerWriter writer) => new(Keyword);
}

/// <summary>
/// Runs an <see cref="ActivationLayer"/>: φ(x), or the P-activation φₐ(x) = (1 − a)·φ(x) + a·x. At a = 1
/// the latter returns x exactly (0·φ(x) + 1·x), and both terms keep a gradient with respect to a there:
/// ∂/∂a = x − φ(x).
/// </summary>
internal sealed class ActivationModule : LayerModule<ActivationLayer>
{
    private readonly Parameter? _a;

    public ActivationModule(ActivationLayer layer, ModuleBuild build) : base(layer)
    {
        if (layer.Parametric)
            _a = NewParameter($"{layer.Name}.a", build);
    }

    public override Tensor forward(Tensor input)
    {
        if (_a is null)
            return Apply(Layer.Activation, input);
        // Scalars are held (and freed) here: see HeldScalars.
        using var one = 1.ToScalar();
        return HeldScalars.Add(Apply(Layer.Activation, input).mul(_a.neg().add(one, one)), input.mul(_a));
    }

    /// <summary>Keeps a in [0, 1] (called after every optimizer step).</summary>
    public override void Constrain()
    {
        if (_a is null)
            return;
        using var noGrad = torch.no_grad();
        using var low = 0.ToScalar();
        using var high = 1.ToScalar();
        _a.clamp_(low, high);
    }

    private static Tensor Apply(ActivationKind kind, Tensor x) => kind switch
    {
        ActivationKind.ReLU => nn.functional.relu(x),
        ActivationKind.TanH => x.tanh(),
        ActivationKind.Sigmoid => x.sigmoid(),
        ActivationKind.ELU => nn.functional.elu(x, 1.0),
        ActivationKind.GELU => nn.functional.gelu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
