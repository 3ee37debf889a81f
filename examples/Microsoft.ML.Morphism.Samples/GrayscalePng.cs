// Writes and reads 8-bit grayscale images as PNG files through ML.NET's MLImage, the decoder ML.NET's image loader uses.
using Microsoft.ML.Data;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>An 8-bit grayscale image: <paramref name="Width"/> x <paramref name="Height"/> pixels, row-major, 0 = black.</summary>
/// <param name="Width">The width in pixels.</param>
/// <param name="Height">The height in pixels.</param>
/// <param name="Pixels">The pixels, row after row, one byte each.</param>
public sealed record GrayscaleImage(int Width, int Height, byte[] Pixels);

/// <summary>
/// Grayscale PNG files through ImageAnalytics' <see cref="MLImage"/>, so the examples can turn IDX images into the image
/// files ML.NET's image loader and Model Builder expect, and tests read them with the decoder that loader uses.
/// </summary>
/// <remarks>
/// <see cref="MLImage"/> holds 32-bit colour pixels: <see cref="Write"/> puts each gray value in all three colour
/// channels of an opaque pixel, and <see cref="Read"/> refuses an image whose pixels are not opaque gray rather than
/// mixing its channels into one.
/// </remarks>
public static class GrayscalePng
{
    /// <summary>Writes <paramref name="pixels"/> (row-major, one byte per pixel) as a PNG file at <paramref name="path"/>, replacing any file there.</summary>
    /// <param name="path">The file to write; it must end in <c>.png</c> (MLImage takes the format from the extension).</param>
    /// <param name="pixels">The pixels, <paramref name="width"/> x <paramref name="height"/> bytes.</param>
    /// <param name="width">The width in pixels, at least 1.</param>
    /// <param name="height">The height in pixels, at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException">A side is less than one pixel.</exception>
    /// <exception cref="ArgumentException">The pixel count is not <c>width * height</c>, or the path does not end in <c>.png</c>.</exception>
    public static void Write(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if ((long)width * height != pixels.Length)
            throw new ArgumentException($"A {width}x{height} image has {(long)width * height} pixels, {pixels.Length} were given.", nameof(pixels));
        if (!string.Equals(Path.GetExtension(path), ".png", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"'{path}' does not end in .png.", nameof(path));
        var bgra = new byte[pixels.Length * 4];
        for (var i = 0; i < pixels.Length; i++)
        {
            bgra[4 * i] = bgra[4 * i + 1] = bgra[4 * i + 2] = pixels[i];
            bgra[4 * i + 3] = byte.MaxValue;
        }
        using var image = MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgra32, bgra);
        image.Save(path);
    }

    /// <summary>Reads a PNG file (or any other format MLImage decodes) whose pixels are all opaque gray.</summary>
    /// <returns>The image, one byte per pixel.</returns>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The file is not an image MLImage decodes, or a pixel is not opaque gray; the message names the file and the problem.</exception>
    public static GrayscaleImage Read(string path)
    {
        using var file = File.OpenRead(path);
        MLImage image;
        try
        {
            image = MLImage.CreateFromStream(file);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Image file '{path}' cannot be decoded ({e.Message}).", e);
        }
        using (image)
        {
            // Bgra32 or Rgba32: a gray pixel is the same in both orders.
            var colour = image.Pixels;
            var pixels = new byte[image.Width * image.Height];
            for (var i = 0; i < pixels.Length; i++)
            {
                var pixel = colour.Slice(4 * i, 4);
                if (pixel[0] != pixel[1] || pixel[0] != pixel[2] || pixel[3] != byte.MaxValue)
                    throw new InvalidDataException(
                        $"Image file '{path}' is not opaque grayscale: pixel ({i % image.Width}, {i / image.Width}) has channels "
                        + $"{pixel[0]}, {pixel[1]}, {pixel[2]} and alpha {pixel[3]}.");
                pixels[i] = pixel[0];
            }
            return new GrayscaleImage(image.Width, image.Height, pixels);
        }
    }
}
