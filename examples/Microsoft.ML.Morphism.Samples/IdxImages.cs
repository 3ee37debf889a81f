// The images of one IDX images file: same-sized 8-bit grayscale images, stored one after another.
namespace Microsoft.ML.Morphism.Samples;

/// <summary>
/// Same-sized 8-bit grayscale images held in one buffer, row-major, one image after another
/// (the layout of an IDX images file, so reading one costs no copying per image).
/// </summary>
public sealed class IdxImages
{
    private readonly byte[] _pixels;

    /// <summary>Wraps <paramref name="pixels"/> (not copied) as <paramref name="count"/> images of <paramref name="rows"/> x <paramref name="columns"/> pixels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative, or an image has no pixels.</exception>
    /// <exception cref="ArgumentException">The buffer length is not <c>count * rows * columns</c>.</exception>
    public IdxImages(byte[] pixels, int count, int rows, int columns)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if ((long)count * rows * columns != pixels.Length)
            throw new ArgumentException(
                $"{count} images of {rows}x{columns} pixels need {(long)count * rows * columns} bytes, the buffer has {pixels.Length}.",
                nameof(pixels));
        _pixels = pixels;
        Count = count;
        Rows = rows;
        Columns = columns;
    }

    /// <summary>The number of images.</summary>
    public int Count { get; }

    /// <summary>The height of every image, in pixels.</summary>
    public int Rows { get; }

    /// <summary>The width of every image, in pixels.</summary>
    public int Columns { get; }

    /// <summary>The number of pixels (bytes) in one image: <see cref="Rows"/> x <see cref="Columns"/>.</summary>
    public int PixelsPerImage => Rows * Columns;

    /// <summary>All pixels of all images, image after image, each image row-major (0 = black, 255 = white).</summary>
    public ReadOnlyMemory<byte> Pixels => _pixels;

    /// <summary>The pixels of image <paramref name="index"/> (zero-based, in file order), row-major.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in [0, <see cref="Count"/>).</exception>
    public ReadOnlySpan<byte> GetImage(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _pixels.AsSpan(index * PixelsPerImage, PixelsPerImage);
    }
}
