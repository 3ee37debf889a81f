// Reads one example's pixels from a float-vector, Image or encoded-image-bytes column into a channels-first float span.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>What a feature column holds.</summary>
internal enum FeatureKind
{
    /// <summary>A vector of Single: C·H·W channels-first values (<c>ExtractPixels</c> with <c>interleavePixelColors: false</c>).</summary>
    Pixels,
    /// <summary>An <c>Image</c> column (<c>LoadImages</c>, <c>ResizeImages</c>) of H×W images.</summary>
    Image,
    /// <summary>A vector of Byte: an encoded image file (PNG, JPEG, BMP, …), as Model Builder's <c>byte[] ImageSource</c> or <c>LoadRawImageBytes</c> give it.</summary>
    EncodedImage,
}

/// <summary>
/// The classifier's feature column, checked against the network input shape when bound: a vector of
/// floats holding C·H·W channels-first values, an <c>Image</c> column of H×W images, or encoded image
/// bytes, decoded with ImageAnalytics' <c>MLImage</c> and resized to H×W (see <see cref="ImagePixels"/>
/// for how pictures become floats).
/// </summary>
internal sealed class FeatureColumn
{
    private readonly DataViewSchema.Column[] _textColumns;

    private FeatureColumn(DataViewSchema schema, DataViewSchema.Column column, TensorShape shape, FeatureKind kind)
    {
        Column = column;
        Shape = shape;
        Kind = kind;
        // Encoded bytes name no file: when one fails to decode, a text column of the row that names an existing file
        // (the path column LoadRawImageBytes read, say) is quoted. Only read on that failure.
        _textColumns = kind == FeatureKind.EncodedImage ? TextColumns(schema) : [];
    }

    public DataViewSchema.Column Column { get; }

    public TensorShape Shape { get; }

    public FeatureKind Kind { get; }

    public int Size => checked((int)Shape.Size);

    /// <summary>The columns a cursor must make active for <see cref="CreateReader"/>.</summary>
    public IEnumerable<DataViewSchema.Column> ReadColumns => [Column, .. _textColumns];

    /// <summary>What <paramref name="type"/> holds, or null when it is no feature column type.</summary>
    public static FeatureKind? KindOf(DataViewType type) => type switch
    {
        VectorDataViewType { ItemType: NumberDataViewType n } when n.RawType == typeof(float) => FeatureKind.Pixels,
        VectorDataViewType { ItemType: NumberDataViewType n } when n.RawType == typeof(byte) => FeatureKind.EncodedImage,
        ImageDataViewType => FeatureKind.Image,
        _ => null,
    };

    /// <summary>The column, or an <see cref="ArgumentOutOfRangeException"/> listing the columns there are.</summary>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name) =>
        schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' not found in the input. Columns: {string.Join(", ", schema.Select(c => c.Name))}.");

    /// <summary>Finds and checks the column; an <see cref="ArgumentException"/> names what is wrong.</summary>
    public static FeatureColumn Bind(DataViewSchema schema, string name, TensorShape shape)
    {
        var column = Find(schema, name);
        var expected = shape.Size;
        switch (KindOf(column.Type))
        {
            case FeatureKind.Pixels:
                var vector = (VectorDataViewType)column.Type;
                if (vector.IsKnownSize && vector.Size != expected)
                    throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' holds {vector.Size} values per row but the network takes {shape.Channels}×{shape.Height}×{shape.Width} = {expected}; check ImageHeight, ImageWidth and ImageChannels (and ExtractPixels' settings).");
                return new FeatureColumn(schema, column, shape, FeatureKind.Pixels);
            case FeatureKind.Image:
                var image = (ImageDataViewType)column.Type;
                CheckImageChannels(name, shape);
                if (image.Height != 0 && (image.Height != shape.Height || image.Width != shape.Width))
                    throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' holds {image.Width}×{image.Height} images but the network takes {shape.Width}×{shape.Height}; add ResizeImages.");
                return new FeatureColumn(schema, column, shape, FeatureKind.Image);
            case FeatureKind.EncodedImage:
                CheckImageChannels(name, shape);
                return new FeatureColumn(schema, column, shape, FeatureKind.EncodedImage);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' has type {column.Type}; expected a vector of Single (channels-first pixels), an Image, or a vector of Byte (an encoded image file).");
        }
    }

    private static void CheckImageChannels(string name, TensorShape shape)
    {
        if (shape.Channels != 1 && shape.Channels != 3)
            throw new ArgumentOutOfRangeException(nameof(name), $"Feature column '{name}' holds images, which give 1 (grey) or 3 (RGB) channels, but the network takes {shape.Channels}; use ExtractPixels for other layouts.");
    }

    /// <summary>
    /// A reader for the current row of <paramref name="row"/>: fills <c>destination</c> (length
    /// <see cref="Size"/>) and returns false when a value is NaN or infinite. A row that cannot be read
    /// (a missing image, bytes that are no image, a wrong size) throws, naming the row.
    /// </summary>
    public Func<Span<float>, bool> CreateReader(DataViewRow row)
    {
        switch (Kind)
        {
            case FeatureKind.Image:
                var getter = row.GetGetter<MLImage>(Column);
                MLImage image = null!;
                return destination =>
                {
                    getter(ref image);
                    if (image is null)
                        throw new InvalidOperationException($"Row {row.Position}: the image in column '{Column.Name}' is missing.");
                    if (image.Width != Shape.Width || image.Height != Shape.Height)
                        throw new InvalidOperationException($"Row {row.Position}: image of {image.Width}×{image.Height} in column '{Column.Name}'{FileOf(image)} but the network takes {Shape.Width}×{Shape.Height}; add ResizeImages.");
                    ImagePixels.Copy(image, Shape, destination);
                    return true;
                };
            case FeatureKind.EncodedImage:
                var bytesGetter = row.GetGetter<VBuffer<byte>>(Column);
                var bytes = default(VBuffer<byte>);
                return destination =>
                {
                    bytesGetter(ref bytes);
                    var decoded = ImagePixels.Decode(bytes.DenseValues().ToArray(), row.Position, Column.Name, () => FileIn(row, _textColumns));
                    using (decoded)
                    {
                        var sized = ImagePixels.Resize(decoded, Shape.Height, Shape.Width);
                        try
                        {
                            ImagePixels.Copy(sized, Shape, destination);
                        }
                        finally
                        {
                            if (!ReferenceEquals(sized, decoded))
                                sized.Dispose();
                        }
                    }
                    return true;
                };
            default:
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
    }

    // LoadImages tags each image with its path.
    private static string FileOf(MLImage image) => image.Tag is { Length: > 0 } path ? $" (file '{path}')" : "";

    /// <summary>The text columns of <paramref name="schema"/>: where a row's file name may be.</summary>
    public static DataViewSchema.Column[] TextColumns(DataViewSchema schema) => [.. schema.Where(c => !c.IsHidden && c.Type is TextDataViewType)];

    /// <summary>" (file '…', column '…')" for the first active text column of the row that names an existing file, else "".</summary>
    public static string FileIn(DataViewRow row, IEnumerable<DataViewSchema.Column> textColumns)
    {
        foreach (var column in textColumns)
        {
            if (!row.IsColumnActive(column))
                continue;
            var text = default(ReadOnlyMemory<char>);
            row.GetGetter<ReadOnlyMemory<char>>(column)(ref text);
            var value = text.ToString();
            if (value.Length is > 0 and < 4096 && File.Exists(value))
                return $" (file '{value}', column '{column.Name}')";
        }
        return "";
    }
}
