// The shape of one example's blob between layers: channels × height × width, or a flat feature vector.
using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// The shape of the blob one example produces at some point of a network (the batch dimension is
/// not part of it): an image-like blob <c>C×H×W</c> (<see cref="IsImage"/>) or a flat vector of
/// <c>Features</c> values.
/// </summary>
public readonly record struct TensorShape
{
    [JsonConstructor]
    private TensorShape(ImmutableArray<int> dimensions) => Dimensions = dimensions;

    /// <summary>The dimensions: three (C, H, W) for an image blob, one for a vector.</summary>
    public ImmutableArray<int> Dimensions { get; }

    /// <summary>An image-like blob of <paramref name="channels"/> × <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static TensorShape Image(int channels, int height, int width)
    {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"An image shape needs positive sizes; got {channels}×{height}×{width}.");
        return new TensorShape([channels, height, width]);
    }

    /// <summary>A flat vector of <paramref name="features"/> values.</summary>
    public static TensorShape Vector(int features)
    {
        if (features <= 0)
            throw new ArgumentException($"A vector shape needs a positive size; got {features}.");
        return new TensorShape([features]);
    }

    /// <summary>True for a C×H×W blob, false for a vector.</summary>
    [JsonIgnore]
    public bool IsImage => Dimensions.Length == 3;

    /// <summary>Channels of an image blob, or the length of a vector.</summary>
    [JsonIgnore]
    public int Channels => Dimensions[0];

    /// <summary>Height of an image blob (1 for a vector).</summary>
    [JsonIgnore]
    public int Height => IsImage ? Dimensions[1] : 1;

    /// <summary>Width of an image blob (1 for a vector).</summary>
    [JsonIgnore]
    public int Width => IsImage ? Dimensions[2] : 1;

    /// <summary>Number of values per example.</summary>
    [JsonIgnore]
    public long Size => Dimensions.Aggregate(1L, (a, d) => checked(a * d));

    /// <summary>The same spatial size with another channel count (or another vector length).</summary>
    public TensorShape WithChannels(int channels) => IsImage ? Image(channels, Height, Width) : Vector(channels);

    /// <summary>The shape with a leading batch dimension, as TorchSharp wants it.</summary>
    public long[] WithBatch(long batch) => [batch, .. Dimensions.Select(d => (long)d)];

    /// <inheritdoc/>
    public bool Equals(TensorShape other) => Dimensions.AsSpan().SequenceEqual(other.Dimensions.AsSpan());

    /// <inheritdoc/>
    public override int GetHashCode() => Dimensions.Aggregate(17, (h, d) => h * 31 + d);

    /// <summary>"1×28×28" or "784".</summary>
    public override string ToString() => Dimensions.IsDefault ? "?" : string.Join("×", Dimensions);
}
