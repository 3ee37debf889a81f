// Resolves the network's input shape from the options and, where they leave it unset, from the feature column's type or its first images.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// The input shape a training run builds its network for. Each of height, width and channels is taken from the
/// options when set (positive), else inferred:
/// <list type="bullet">
/// <item>a vector of Single: height and width must be set (a pixel vector does not carry them); channels =
/// values per row ÷ (height × width);</item>
/// <item>an Image column: height and width from the column type when it is sized, else from the first image;</item>
/// <item>encoded image bytes: height and width from the first image (every image is resized to them);</item>
/// <item>channels of images: 1 when the first <see cref="SampleImages"/> images are all grey (R = G = B), else 3.</item>
/// </list>
/// Images in colour with channels set to 1 are trained on luminance: that is allowed, and warned about.
/// </summary>
internal static class InputShape
{
    /// <summary>How many images (the first rows) are looked at to infer sizes and grey against colour.</summary>
    public const int SampleImages = 16;

    /// <summary>The shape, what was inferred (null: nothing), and a warning (null: none) for the log.</summary>
    public sealed record Resolution(TensorShape Shape, string? Inferred, string? Warning);

    public static Resolution Resolve(IDataView data, string featureColumnName, int height, int width, int channels)
    {
        if (height < 0 || width < 0 || channels < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"ImageHeight, ImageWidth and ImageChannels must be positive, or 0 to infer them (got {height}×{width}×{channels}).");
        var column = FeatureColumn.Find(data.Schema, featureColumnName);
        var kind = FeatureColumn.KindOf(column.Type)
            ?? throw new ArgumentOutOfRangeException(nameof(featureColumnName), $"Feature column '{featureColumnName}' has type {column.Type}; expected a vector of Single (channels-first pixels), an Image, or a vector of Byte (an encoded image file).");
        return kind == FeatureKind.Pixels
            ? ResolvePixels(data, column, height, width, channels)
            : ResolveImages(data, column, kind, height, width, channels);
    }

    private static Resolution ResolvePixels(IDataView data, DataViewSchema.Column column, int height, int width, int channels)
    {
        if (height == 0 || width == 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Set ImageHeight and ImageWidth: feature column '{column.Name}' is a vector of {column.Type.GetItemType()} pixels, which does not carry its image's height and width (got {height}×{width}).");
        if (channels > 0)
            return new(TensorShape.Image(channels, height, width), null, null);
        var vector = (VectorDataViewType)column.Type;
        long size = vector.IsKnownSize ? vector.Size : FirstVectorLength(data, column);
        long plane = (long)height * width;
        if (size == 0 || size % plane != 0)
            throw new ArgumentOutOfRangeException(nameof(channels), $"Feature column '{column.Name}' holds {size} values per row, which is no whole number of {height}×{width} channels; check ImageHeight and ImageWidth, or set ImageChannels.");
        int inferred = checked((int)(size / plane));
        return new(TensorShape.Image(inferred, height, width),
            $"ImageChannels = {inferred} ({size} values per row in column '{column.Name}' ÷ {height}×{width})", null);
    }

    private static long FirstVectorLength(IDataView data, DataViewSchema.Column column)
    {
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var buffer = default(VBuffer<float>);
        if (!cursor.MoveNext())
            throw new ArgumentException($"The training data has no rows: cannot infer ImageChannels from feature column '{column.Name}'.");
        getter(ref buffer);
        return buffer.Length;
    }

    private static Resolution ResolveImages(IDataView data, DataViewSchema.Column column, FeatureKind kind, int height, int width, int channels)
    {
        var inferred = new List<string>();
        if ((height == 0 || width == 0) && column.Type is ImageDataViewType { Height: > 0 } sized)
        {
            if (height == 0)
                inferred.Add($"ImageHeight = {sized.Height}");
            if (width == 0)
                inferred.Add($"ImageWidth = {sized.Width}");
            height = height == 0 ? sized.Height : height;
            width = width == 0 ? sized.Width : width;
        }

        // The first images: their size (where still unset) and whether any is in colour. Read even when
        // everything is set and channels = 1, to warn about colour images trained on luminance.
        int looked = 0, colour = 0;
        (int Height, int Width)? first = null;
        if (height == 0 || width == 0 || channels is 0 or 1)
        {
            var textColumns = kind == FeatureKind.EncodedImage ? FeatureColumn.TextColumns(data.Schema) : [];
            using var cursor = data.GetRowCursor([column, .. textColumns]);
            var next = Reader(cursor, column, kind, textColumns);
            while (looked < SampleImages && cursor.MoveNext())
            {
                using var image = next();
                first ??= (image.Height, image.Width);
                looked++;
                if (!ImagePixels.IsGrey(image))
                    colour++;
            }
            if (looked == 0)
                throw new ArgumentException($"The training data has no rows: cannot infer the image shape from feature column '{column.Name}'; set ImageHeight, ImageWidth and ImageChannels.");
        }
        if (height == 0)
        {
            height = first!.Value.Height;
            inferred.Add($"ImageHeight = {height}");
        }
        if (width == 0)
        {
            width = first!.Value.Width;
            inferred.Add($"ImageWidth = {width}");
        }
        if (inferred.Count > 0 && first is { } size && kind == FeatureKind.EncodedImage)
            inferred[^1] += $" (from the first image, {size.Width}×{size.Height}; every image is resized to {width}×{height})";
        if (channels == 0)
        {
            channels = colour > 0 ? 3 : 1;
            inferred.Add(colour > 0
                ? $"ImageChannels = 3 ({colour} of the first {looked} images are in colour)"
                : $"ImageChannels = 1 (the first {looked} images are all grey)");
        }
        string? warning = channels == 1 && colour > 0
            ? $"ImageChannels = 1 but {colour} of the first {looked} images in column '{column.Name}' are in colour: the network is trained on their " +
              "luminance (0.299R + 0.587G + 0.114B) and sees no colour. Set ImageChannels = 3 (or leave it unset, 0, to infer it) to train on R, G and B."
            : null;
        return new(TensorShape.Image(channels, height, width),
            inferred.Count == 0 ? null : $"{string.Join(", ", inferred)} from feature column '{column.Name}'", warning);
    }

    // The current row's picture; the caller disposes what it gets (a decoded image, or a copy of the column's image).
    private static Func<MLImage> Reader(DataViewRowCursor cursor, DataViewSchema.Column column, FeatureKind kind, DataViewSchema.Column[] textColumns)
    {
        if (kind == FeatureKind.Image)
        {
            var getter = cursor.GetGetter<MLImage>(column);
            MLImage image = null!;
            return () =>
            {
                getter(ref image);
                if (image is null)
                    throw new InvalidOperationException($"Row {cursor.Position}: the image in column '{column.Name}' is missing.");
                // Not ours to dispose: hand out a copy of the pixels.
                return MLImage.CreateFromPixels(image.Width, image.Height, image.PixelFormat, image.Pixels);
            };
        }
        var bytesGetter = cursor.GetGetter<VBuffer<byte>>(column);
        var bytes = default(VBuffer<byte>);
        return () =>
        {
            bytesGetter(ref bytes);
            return ImagePixels.Decode(bytes.DenseValues().ToArray(), cursor.Position, column.Name, () => FeatureColumn.FileIn(cursor, textColumns));
        };
    }
}
