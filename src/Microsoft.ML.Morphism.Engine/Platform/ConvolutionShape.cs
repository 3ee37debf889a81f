// One float32 convolution the numerics self-check can try: batch, channels, spatial size and the conv's settings.
using System.Globalization;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>
/// A convolution as libtorch sees it: input <c>[Batch, InChannels, Height, Width]</c>, weight
/// <c>[OutChannels, InChannels / Groups, KernelSize, KernelSize]</c>.
/// </summary>
public sealed record ConvolutionShape(int Batch, int InChannels, int OutChannels, int Height, int Width,
    int KernelSize, int Stride = 1, int Padding = 0, int Dilation = 1, int Groups = 1)
{
    /// <summary>Input channels per group.</summary>
    [JsonIgnore]
    public int InPerGroup => InChannels / Groups;

    /// <summary>Output channels per group.</summary>
    [JsonIgnore]
    public int OutPerGroup => OutChannels / Groups;

    /// <summary>The same convolution at another batch size.</summary>
    public ConvolutionShape WithBatch(int batch) => this with { Batch = batch };

    /// <summary>"b16 24→48 14×14 k3 s1 p1 d1 g1": the form used in messages and in the verdict cache.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"b{Batch} {InChannels}→{OutChannels} {Height}×{Width} k{KernelSize} s{Stride} p{Padding} d{Dilation} g{Groups}");
}
