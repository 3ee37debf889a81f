// The element-wise activation layer kind (plain or the P-activation a depth morph inserts), and the activation functions it offers.
using System.Text.Json.Serialization;

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

    static IReadOnlyList<string> ILayerText.Keywords { get; } = [.. Every("").Select(layer => layer.Keyword)];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.ExpectNoArguments();
        return Every(call.Name).First(layer => layer.Keyword == call.Keyword);
    }

    // Every kind, plain then parametric: one layer per keyword.
    private static IEnumerable<ActivationLayer> Every(string name) =>
        new[] { false, true }.SelectMany(p => Enum.GetValues<ActivationKind>().Select(k => new ActivationLayer(name, k, p)));

    internal override TextCall ToText(LayerWriter writer) => new(Keyword);
}
