// The base of every layer kind: a named, immutable record; the JSON list of kinds is the one registration of a new kind.
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// One named layer of a <see cref="NetworkDescription"/>. Layer names are unique in a network; a
/// layer's parameters are stored in <see cref="NetworkWeights"/> under <c>"{Name}.{parameter}"</c>.
/// </summary>
/// <remarks>
/// A layer kind is one file: the record (settings, <see cref="Validate"/>, <see cref="InferShape"/>,
/// <see cref="Parameters"/>), its text form (<see cref="ILayerText"/> reads it, <see cref="ToText"/> writes
/// it), its width-morph rule (<see cref="WidenInput"/>) and, next to the record, the TorchSharp module that
/// runs it (a <c>LayerModule&lt;TLayer&gt;</c>). The <see cref="JsonDerivedTypeAttribute"/> list below is the
/// one registration: the text form and the module factory find the kinds through it.
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(Conv2dLayer), "conv")]
[JsonDerivedType(typeof(DenseLayer), "dense")]
[JsonDerivedType(typeof(ActivationLayer), "activation")]
[JsonDerivedType(typeof(Pool2dLayer), "pool")]
[JsonDerivedType(typeof(GlobalAvgPoolLayer), "gap")]
[JsonDerivedType(typeof(BatchNormLayer), "bn")]
[JsonDerivedType(typeof(DropoutLayer), "dropout")]
[JsonDerivedType(typeof(FlattenLayer), "flatten")]
[JsonDerivedType(typeof(ParallelLayer), "parallel")]
[JsonDerivedType(typeof(SkipLayer), "skip")]
public abstract record Layer(string Name)
{
    /// <summary>True when a morph created this layer (marked with <c>*</c> in the text form and the summary).</summary>
    public bool Morphed { get; init; }

    /// <summary>The prefix of default names (<c>conv</c> gives <c>conv1</c>, <c>conv2</c>, ...).</summary>
    [JsonIgnore]
    public abstract string DefaultNamePrefix { get; }

    /// <summary>The layer's own parameters for a given input shape (none for parameter-free layers).</summary>
    internal virtual IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope) => [];

    /// <summary>The output shape for <paramref name="input"/>; throws an <see cref="ArgumentException"/> naming the layer when the input does not fit.</summary>
    internal abstract TensorShape InferShape(TensorShape input, ShapeScope scope);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the layer when a setting is out of range.</summary>
    internal virtual void Validate()
    {
    }

    /// <summary>This layer in the network text form, without its name and <c>*</c> mark (the text form adds those).</summary>
    internal abstract TextCall ToText(LayerWriter writer);

    /// <summary>
    /// The width morph's rule for this kind: <paramref name="input"/> gains channels (or features), appended
    /// after the old ones, whose outgoing weights must be zero. Records through <paramref name="trace"/> the
    /// parameters that grow, and returns how the output grows, or null when this layer absorbs the new
    /// channels (its new input weights are zero, so its output does not change).
    /// </summary>
    internal abstract Widening? WidenInput(Widening input, IWidenTrace trace);

    /// <summary>
    /// The width morph's rule for blobs this layer reads besides its input (a skip's source): called for every
    /// layer once the new channels were followed; by default nothing grows.
    /// </summary>
    internal virtual void WidenSources(IWidenTrace trace)
    {
    }

    private protected ArgumentException Invalid(string message) => new($"Layer '{Name}': {message}");

    private protected void RequireImage(TensorShape input, string what)
    {
        if (!input.IsImage)
            throw Invalid($"{what} needs a C×H×W input but receives a vector of {input.Channels}.");
    }
}

/// <summary>
/// What a layer kind adds to the network text form besides <see cref="Layer.ToText"/>: the keywords it is
/// written with and how it reads a call of one (implemented as static members of the record).
/// </summary>
internal interface ILayerText
{
    /// <summary>The keywords (<c>conv</c>; <c>relu</c>, <c>prelu</c>, ...).</summary>
    static abstract IReadOnlyList<string> Keywords { get; }

    /// <summary>The layer a call of one of the keywords describes, named <see cref="LayerCall.Name"/> (the text form marks it).</summary>
    static abstract Layer Read(LayerCall call);
}
