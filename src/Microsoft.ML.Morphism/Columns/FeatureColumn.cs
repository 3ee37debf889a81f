// Reads one example's pixels from a float-vector or Image column into a channels-first float span.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// The classifier's feature column, checked against the network input shape when bound: either a
/// vector of floats holding C·H·W channels-first values (what <c>ExtractPixels</c> with
/// <c>interleavePixelColors: false</c> produces), or an <c>Image</c> column of H×W images, converted
/// to channels-first floats in [0, 1] (one channel: luminance 0.299R + 0.587G + 0.114B, which is the
/// pixel value itself for grey images; three channels: R, G, B).
/// </summary>
internal sealed class FeatureColumn
{
    private FeatureColumn(DataViewSchema.Column column, TensorShape shape, bool isImage)
    {
        Column = column;
        Shape = shape;
        IsImage = isImage;
    }

    public DataViewSchema.Column Column { get; }

    public TensorShape Shape { get; }

    public bool IsImage { get; }

    public int Size => checked((int)Shape.Size);

    /// <summary>Finds and checks the column; an <see cref="ArgumentException"/> names what is wrong.</summary>
    public static FeatureColumn Bind(DataViewSchema schema, string name, TensorShape shape)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' not found in the input. Columns: {string.Join(", ", schema.Select(c => c.Name))}.");
        var expected = shape.Size;
        switch (column.Type)
        {
            case VectorDataViewType { ItemType: NumberDataViewType n } vector when n.RawType == typeof(float):
                if (vector.IsKnownSize && vector.Size != expected)
                    throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' holds {vector.Size} values per row but the network takes {shape.Channels}×{shape.Height}×{shape.Width} = {expected}; check ImageHeight, ImageWidth and ImageChannels (and ExtractPixels' settings).");
                return new FeatureColumn(column, shape, isImage: false);
            case ImageDataViewType image:
                if (shape.Channels != 1 && shape.Channels != 3)
                    throw new ArgumentOutOfRangeException(nameof(name), $"An Image feature column gives 1 (grey) or 3 (RGB) channels, but the network takes {shape.Channels}; use ExtractPixels for other layouts.");
                if (image.Height != 0 && (image.Height != shape.Height || image.Width != shape.Width))
                    throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' holds {image.Width}×{image.Height} images but the network takes {shape.Width}×{shape.Height}; add ResizeImages.");
                return new FeatureColumn(column, shape, isImage: true);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' has type {column.Type}; expected a vector of Single (channels-first pixels) or an Image.");
        }
    }

    /// <summary>
    /// A reader for the current row of <paramref name="row"/>: fills <c>destination</c> (length
    /// <see cref="Size"/>) and returns false when a value is NaN or infinite.
    /// </summary>
    public Func<Span<float>, bool> CreateReader(DataViewRow row)
    {
        if (IsImage)
        {
            var getter = row.GetGetter<MLImage>(Column);
            MLImage image = null!;
            return destination =>
            {
                getter(ref image);
                if (image is null)
                    throw new InvalidOperationException($"Row {row.Position}: the image in column '{Column.Name}' is missing.");
                CopyPixels(image, destination);
                return true;
            };
        }

        var vectorGetter = row.GetGetter<VBuffer<float>>(Column);
        var buffer = default(VBuffer<float>);
        return destination =>
        {
            vectorGetter(ref buffer);
            if (buffer.Length != destination.Length)
                throw new InvalidOperationException($"Row {row.Position}: feature column '{Column.Name}' holds {buffer.Length} values but the network takes {destination.Length} ({Shape}).");
            buffer.CopyTo(destination);
            foreach (var v in destination)
                if (!float.IsFinite(v))
                    return false;
            return true;
        };
    }

    private void CopyPixels(MLImage image, Span<float> destination)
    {
        if (image.Width != Shape.Width || image.Height != Shape.Height)
            throw new InvalidOperationException($"Image of {image.Width}×{image.Height} in column '{Column.Name}' but the network takes {Shape.Width}×{Shape.Height}; add ResizeImages.");
        var pixels = image.Pixels;
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        int plane = Shape.Height * Shape.Width;
        for (int i = 0; i < plane; i++)
        {
            float r = pixels[4 * i + (bgra ? 2 : 0)], g = pixels[4 * i + 1], b = pixels[4 * i + (bgra ? 0 : 2)];
            if (Shape.Channels == 1)
            {
                destination[i] = (0.299f * r + 0.587f * g + 0.114f * b) / 255f;
            }
            else
            {
                destination[i] = r / 255f;
                destination[plane + i] = g / 255f;
                destination[2 * plane + i] = b / 255f;
            }
        }
    }
}
