// The 2-D convolution layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

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
    int Dilation = 1, int Groups = 1, bool Bias = true) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "conv";

    /// <summary>The padding that keeps the spatial size at stride 1 for an odd kernel.</summary>
    public static int SamePadding(int kernelSize, int dilation = 1) => kernelSize % 2 == 1 ? (int)Math.Min(int.MaxValue, (long)dilation * (kernelSize - 1) / 2) : 0;

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

    static IReadOnlyList<string> ILayerText.Keywords => ["conv"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(2, ["the number of output channels", "the kernel size"], "stride", "pad", "dilation", "groups", "bias");
        int kernel = call.Int(1), dilation = call.Int("dilation", 1);
        int padding = call.Word("pad") switch
        {
            null => SamePadding(kernel, dilation),
            "same" => kernel % 2 == 1 ? SamePadding(kernel, dilation) : throw call.Error("pad", "pad=same needs an odd kernel"),
            "valid" => 0,
            _ => call.Int("pad", 0),
        };
        return new Conv2dLayer(call.Name, call.Int(0), kernel, call.Int("stride", 1), padding, dilation, call.Int("groups", 1), call.Bool("bias", true));
    }

    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        if (Groups != 1)
            throw new ArgumentException($"'{trace.Widened}' feeds grouped convolution '{Name}' (groups={Groups}), which cannot take extra input channels without breaking its groups.");
        trace.Grow($"{Name}.weight", axis: 1, input.New);
        return null;
    }

    internal override TextCall ToText(LayerWriter writer) =>
        new TextCall("conv").Add(OutChannels).Add(KernelSize).Option("stride", Stride, 1).Option("pad", Padding, SamePadding(KernelSize, Dilation))
            .Option("dilation", Dilation, 1).Option("groups", Groups, 1).Option("bias", Bias, true);
}

/// <summary>
/// Runs a <see cref="Conv2dLayer"/>: conv2d with its stride, padding, dilation and groups; in float32 on the CPU
/// through the channel padding the numerics self-check chose for its shape (<see cref="Platform.ConvolutionNumerics"/>).
/// </summary>
internal sealed class Conv2dModule : LayerModule<Conv2dLayer>
{
    private readonly Platform.ConvolutionShape _shape;
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public Conv2dModule(Conv2dLayer layer, ModuleBuild build) : base(layer)
    {
        _shape = build.Convolutions[layer.Name];
        _weight = NewParameter($"{layer.Name}.weight", build);
        _bias = layer.Bias ? NewParameter($"{layer.Name}.bias", build) : null;
    }

    public override Tensor forward(Tensor input) =>
        GuardedConvolution.Conv2d(_shape, input, _weight, _bias, Layer.Stride, Layer.Padding, Layer.Dilation, Layer.Groups);
}
