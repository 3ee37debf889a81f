// Turns MLImage pictures into the network's channels-first floats: decodes encoded bytes, resizes, converts colour.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// Pixels of ImageAnalytics' <see cref="MLImage"/> (always 32-bit BGRA or RGBA) as the network reads them:
/// values in [0, 1], channels first; one channel is luminance 0.299R + 0.587G + 0.114B (the pixel value
/// itself for grey images), three are R, G, B.
/// </summary>
internal static class ImagePixels
{
    /// <summary>
    /// Decodes the encoded image (PNG, JPEG, BMP, GIF, WebP: what ImageAnalytics' SkiaSharp decodes) of row
    /// <paramref name="row"/> in column <paramref name="column"/>. Throws <see cref="InvalidDataException"/> naming the
    /// row, the column, the file when <paramref name="file"/> knows it, and what the bytes are not.
    /// </summary>
    public static MLImage Decode(ReadOnlySpan<byte> encoded, long row, string column, Func<string>? file = null)
    {
        string problem;
        Exception? inner = null;
        if (encoded.IsEmpty)
        {
            problem = "it holds no bytes (an empty image)";
        }
        else
        {
            try
            {
                using var stream = new MemoryStream(encoded.ToArray(), writable: false);
                return MLImage.CreateFromStream(stream);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
            {
                problem = $"its {encoded.Length:N0} bytes (starting {Describe(encoded)}) are not an image ImageAnalytics can decode (PNG, JPEG, BMP, GIF or WebP): {e.Message}";
                inner = e;
            }
        }
        throw new InvalidDataException($"Row {row}: the encoded image in column '{column}'{file?.Invoke()} cannot be used: {problem}", inner);
    }

    /// <summary>
    /// <paramref name="image"/> at <paramref name="height"/>×<paramref name="width"/>: itself when it has that size, else a
    /// resized copy (the caller disposes it), stretched exactly as <c>ResizeImages(..., resizing: ResizingKind.Fill)</c> does.
    /// </summary>
    public static MLImage Resize(MLImage image, int height, int width) =>
        image.Width == width && image.Height == height ? image : image.CloneWithResizing(width, height, ImageResizeMode.Fill);

    /// <summary>True when every pixel has R = G = B (a grey image stored as colour, as MLImage always stores it).</summary>
    public static bool IsGrey(MLImage image)
    {
        var pixels = image.Pixels;
        for (int i = 0; i + 3 < pixels.Length; i += 4)
            if (pixels[i] != pixels[i + 1] || pixels[i + 1] != pixels[i + 2])
                return false;
        return true;
    }

    /// <summary>Writes an image of exactly <paramref name="shape"/>'s height and width into <paramref name="destination"/> (length C·H·W).</summary>
    public static void Copy(MLImage image, TensorShape shape, Span<float> destination)
    {
        var pixels = image.Pixels;
        bool bgra = image.PixelFormat == MLPixelFormat.Bgra32;
        int plane = shape.Height * shape.Width;
        for (int i = 0; i < plane; i++)
        {
            float r = pixels[4 * i + (bgra ? 2 : 0)], g = pixels[4 * i + 1], b = pixels[4 * i + (bgra ? 0 : 2)];
            if (shape.Channels == 1)
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

    private static string Describe(ReadOnlySpan<byte> bytes) =>
        Convert.ToHexString(bytes[..Math.Min(8, bytes.Length)]) + (bytes.Length > 8 ? "…" : "");
}
