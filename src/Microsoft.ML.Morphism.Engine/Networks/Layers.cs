// The layer kinds a network description is made of: immutable records, one per kind.
using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// One named layer of a <see cref="NetworkDescription"/>. Layer names are unique in a network; a
/// layer's parameters are stored in <see cref="NetworkWeights"/> under <c>"{Name}.{parameter}"</c>.
/// </summary>
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

    private protected ArgumentException Invalid(string message) => new($"Layer '{Name}': {message}");

    private protected void RequireImage(TensorShape input, string what)
    {
        if (!input.IsImage)
            throw Invalid($"{what} needs a C×H×W input but receives a vector of {input.Channels}.");
    }
}

/// <summary>2-D convolution: <see cref="OutChannels"/> filters of <see cref="KernelSize"/>², square kernels.</summary>
/// <param name="Name">Unique layer name.</param>
/// <param name="OutChannels">Number of output channels.</param>
/// <param name="KernelSize">Kernel height and width.</param>
/// <param name="Stride">Stride (default 1).</param>
/// <param name="Padding">Zero padding on each side (the text form and builder default to "same" for odd kernels: <c>Dilation·(K−1)/2</c>).</param>
/// <param name="Dilation">Dilation (default 1; morphs that change the kernel reject dilation other than 1 where noted).</param>
/// <param name="Groups">Groups (default 1; width and depth morphs reject grouped convolutions).</param>
/// <param name="Bias">Whether the layer has a bias (default true).</param>
public sealed record Conv2dLayer(string Name, int OutChannels, int KernelSize, int Stride = 1, int Padding = 0,
    int Dilation = 1, int Groups = 1, bool Bias = true) : Layer(Name)
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "conv";

    /// <summary>The padding that keeps the spatial size at stride 1 for an odd kernel.</summary>
    public static int SamePadding(int kernelSize, int dilation = 1) => kernelSize % 2 == 1 ? dilation * (kernelSize - 1) / 2 : 0;

    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        yield return new(Name, "weight", [OutChannels, input.Channels / Groups, KernelSize, KernelSize], ParameterRole.Weight);
        if (Bias)
            yield return new(Name, "bias", [OutChannels], ParameterRole.Bias);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        RequireImage(input, "a convolution");
        if (input.Channels % Groups != 0)
            throw Invalid($"{input.Channels} input channels are not divisible by groups={Groups}.");
        int h = ConvArithmetic.OutputSize(input.Height, KernelSize, Stride, Padding, Dilation);
        int w = ConvArithmetic.OutputSize(input.Width, KernelSize, Stride, Padding, Dilation);
        if (h <= 0 || w <= 0)
            throw Invalid($"a {KernelSize}×{KernelSize} kernel (stride {Stride}, padding {Padding}) does not fit a {input.Height}×{input.Width} input.");
        return TensorShape.Image(OutChannels, h, w);
    }

    internal override void Validate()
    {
        if (OutChannels <= 0) throw Invalid($"out channels must be positive (got {OutChannels}).");
        if (KernelSize <= 0) throw Invalid($"kernel size must be positive (got {KernelSize}).");
        if (Stride <= 0) throw Invalid($"stride must be positive (got {Stride}).");
        if (Padding < 0) throw Invalid($"padding must not be negative (got {Padding}).");
        if (Dilation <= 0) throw Invalid($"dilation must be positive (got {Dilation}).");
        if (Groups <= 0 || OutChannels % Groups != 0) throw Invalid($"groups={Groups} must be positive and divide the {OutChannels} out channels.");
    }
}

/// <summary>Fully connected layer on a vector input: <see cref="Units"/> outputs.</summary>
public sealed record DenseLayer(string Name, int Units, bool Bias = true) : Layer(Name)
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
}

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
public sealed record ActivationLayer(string Name, ActivationKind Activation, bool Parametric = false) : Layer(Name)
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
}

/// <summary>Max or average pooling.</summary>
public enum PoolKind
{
    /// <summary>Maximum over the window.</summary>
    Max,
    /// <summary>Mean over the window (zero padding counted).</summary>
    Average,
}

/// <summary>2-D pooling over <see cref="KernelSize"/>² windows (stride defaults to the kernel size).</summary>
public sealed record Pool2dLayer(string Name, PoolKind Pool, int KernelSize, int Stride, int Padding = 0) : Layer(Name)
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => Pool == PoolKind.Max ? "maxpool" : "avgpool";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        RequireImage(input, "pooling");
        int h = ConvArithmetic.OutputSize(input.Height, KernelSize, Stride, Padding, 1);
        int w = ConvArithmetic.OutputSize(input.Width, KernelSize, Stride, Padding, 1);
        if (h <= 0 || w <= 0)
            throw Invalid($"a {KernelSize}×{KernelSize} window does not fit a {input.Height}×{input.Width} input.");
        return TensorShape.Image(input.Channels, h, w);
    }

    internal override void Validate()
    {
        if (KernelSize <= 0 || Stride <= 0) throw Invalid("kernel size and stride must be positive.");
        if (Padding < 0 || 2 * Padding > KernelSize) throw Invalid($"padding must be in [0, kernel/2] (got {Padding}).");
    }
}

/// <summary>Mean over the spatial dimensions: C×H×W becomes a vector of C.</summary>
public sealed record GlobalAvgPoolLayer(string Name) : Layer(Name)
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "gap";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        RequireImage(input, "global average pooling");
        return TensorShape.Vector(input.Channels);
    }
}

/// <summary>Batch normalisation over channels (or features of a vector).</summary>
public sealed record BatchNormLayer(string Name, double Epsilon = 1e-5, double Momentum = 0.1) : Layer(Name)
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
}

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

/// <summary>C×H×W becomes a vector of C·H·W (index c·H·W + h·W + w).</summary>
public sealed record FlattenLayer(string Name) : Layer(Name)
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
}

/// <summary>
/// A block of parallel branches applied to the same input, outputs summed (an Inception-like
/// subnet). Every branch is a non-empty sequence and all branches produce the same shape.
/// </summary>
public sealed record ParallelLayer(string Name, ImmutableArray<ImmutableArray<Layer>> Branches) : Layer(Name)
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "parallel";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        TensorShape? output = null;
        for (int b = 0; b < Branches.Length; b++)
        {
            var shape = input;
            foreach (var layer in Branches[b])
            {
                if (layer is SkipLayer)
                    throw Invalid("skip connections inside parallel branches are not supported.");
                shape = scope.Infer(layer, shape);
            }
            if (output is { } first && first != shape)
                throw Invalid($"branch {b + 1} produces {shape} but branch 1 produces {first}; branch outputs are summed and must match.");
            output = shape;
        }
        return output!.Value;
    }

    internal override void Validate()
    {
        if (Branches.IsDefaultOrEmpty || Branches.Length < 2)
            throw Invalid("a parallel block needs at least two branches.");
        if (Branches.Any(b => b.IsDefaultOrEmpty))
            throw Invalid("parallel branches must not be empty.");
    }

    /// <inheritdoc/>
    public bool Equals(ParallelLayer? other) =>
        other is not null && Name == other.Name && Morphed == other.Morphed &&
        Branches.Length == other.Branches.Length &&
        Branches.Zip(other.Branches).All(p => p.First.SequenceEqual(p.Second));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Branches.Length);
}

/// <summary>
/// A skip (residual) connection: adds a 1×1 convolution (or, for vectors, a dense projection) of the
/// output of the earlier top-level layer <see cref="From"/> (or of the network input, <c>"input"</c>)
/// to its input. Created zero-initialised, so it starts as the identity. Spatial sizes must match.
/// </summary>
public sealed record SkipLayer(string Name, string From) : Layer(Name)
{
    /// <summary>The name that refers to the network input as a skip source.</summary>
    public const string NetworkInput = "input";

    /// <inheritdoc/>
    public override string DefaultNamePrefix => "skip";

    /// <summary>The projection's weight: [C_to, C_from, 1, 1] for image blobs, [D_to, D_from] for vectors.</summary>
    internal override IEnumerable<ParameterSpec> Parameters(TensorShape input, ShapeScope scope)
    {
        var source = scope.BlobShape(From, this);
        yield return input.IsImage
            ? new(Name, "weight", [input.Channels, source.Channels, 1, 1], ParameterRole.SkipProjection)
            : new(Name, "weight", [input.Channels, source.Channels], ParameterRole.SkipProjection);
    }

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        var source = scope.BlobShape(From, this);
        if (source.IsImage != input.IsImage)
            throw Invalid($"cannot add '{From}' ({source}) to an input of {input}: one is an image blob, the other a vector.");
        if (source.IsImage && (source.Height != input.Height || source.Width != input.Width))
            throw Invalid($"cannot add '{From}' ({source}) to an input of {input}: spatial sizes differ.");
        return input;
    }
}

/// <summary>What a parameter is, which decides its initial value.</summary>
public enum ParameterRole
{
    /// <summary>Convolution or dense weights.</summary>
    Weight,
    /// <summary>Convolution or dense bias.</summary>
    Bias,
    /// <summary>BatchNorm γ.</summary>
    NormScale,
    /// <summary>BatchNorm β.</summary>
    NormShift,
    /// <summary>BatchNorm running mean (a buffer, not trained by gradient).</summary>
    RunningMean,
    /// <summary>BatchNorm running variance (a buffer, not trained by gradient).</summary>
    RunningVariance,
    /// <summary>The <c>a</c> of a P-activation.</summary>
    ActivationLinearity,
    /// <summary>A skip connection's projection weights.</summary>
    SkipProjection,
}

/// <summary>One parameter of a layer: its key in <see cref="NetworkWeights"/>, shape and role.</summary>
public sealed record ParameterSpec(string Layer, string Parameter, long[] Shape, ParameterRole Role)
{
    /// <summary>The weights key: <c>"{Layer}.{Parameter}"</c>.</summary>
    public string Key => $"{Layer}.{Parameter}";

    /// <summary>Number of values.</summary>
    public long Count => Shape.Aggregate(1L, (a, d) => a * d);

    /// <summary>True for buffers that gradient descent does not update (BatchNorm running statistics).</summary>
    public bool IsBuffer => Role is ParameterRole.RunningMean or ParameterRole.RunningVariance;
}
