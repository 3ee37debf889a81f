// The max and average pooling layer kind: description, text form, width-morph rule and module.
using Microsoft.ML.Morphism.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>Max or average pooling.</summary>
public enum PoolKind
{
    /// <summary>Maximum over the window.</summary>
    Max,
    /// <summary>Mean over the window (zero padding counted).</summary>
    Average,
}

/// <summary>2-D pooling over <see cref="KernelSize"/>² windows (stride defaults to the kernel size).</summary>
public sealed record Pool2dLayer(string Name, PoolKind Pool, int KernelSize, int Stride, int Padding = 0) : Layer(Name), ILayerText
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

    static IReadOnlyList<string> ILayerText.Keywords => ["maxpool", "avgpool"];

    static Layer ILayerText.Read(LayerCall call)
    {
        call.Expect(1, ["the pooling window size"], "stride", "pad");
        int kernel = call.Int(0);
        return new Pool2dLayer(call.Name, call.Keyword == "maxpool" ? PoolKind.Max : PoolKind.Average, kernel, call.Int("stride", kernel), call.Int("pad", 0));
    }

    // Per channel: the new channels pass through.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace) => input;

    internal override TextCall ToText(LayerWriter writer) =>
        new TextCall(DefaultNamePrefix).Add(KernelSize).Option("stride", Stride, KernelSize).Option("pad", Padding, 0);
}

/// <summary>Runs a <see cref="Pool2dLayer"/>.</summary>
internal sealed class Pool2dModule(Pool2dLayer layer) : LayerModule<Pool2dLayer>(layer)
{
    public override Tensor forward(Tensor input) => Layer.Pool == PoolKind.Max
        ? nn.functional.max_pool2d(input, [Layer.KernelSize], [Layer.Stride], [Layer.Padding])
        : nn.functional.avg_pool2d(input, [Layer.KernelSize], [Layer.Stride], [Layer.Padding]);
}
