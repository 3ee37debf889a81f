// Reads IDX files (the MNIST container format), plain or gzip-compressed, and refuses any that do not add up.
using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>
/// Reads the unsigned-byte IDX files of MNIST-style data sets: labels (magic number 0x00000801, one
/// dimension) and images (0x00000803, three dimensions: count, rows, columns). Sizes are big-endian.
/// </summary>
/// <remarks>
/// A file is gzip-decompressed when it starts with the gzip magic bytes 1F 8B, whatever its name says,
/// so renamed or hand-decompressed copies read the same. Every size in the header is checked against
/// the file's actual length, so a truncated download or a wrong file fails here, naming the file, and
/// not later as odd-looking images or an index error.
/// </remarks>
public static class IdxReader
{
    /// <summary>The magic number of an IDX labels file: unsigned bytes, one dimension.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>The magic number of an IDX images file: unsigned bytes, three dimensions.</summary>
    public const int ImagesMagic = 0x00000803;

    private const byte UnsignedByteType = 0x08;

    /// <summary>Reads an IDX images file (plain or gzip-compressed).</summary>
    /// <param name="path">The file to read.</param>
    /// <returns>The images, in file order.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid unsigned-byte IDX images file; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static IdxImages ReadImages(string path)
    {
        using var stream = OpenContent(path);
        var sizes = ReadHeader(path, stream, ImagesMagic, "images");
        int count = sizes[0], rows = sizes[1], columns = sizes[2];
        if (rows < 1 || columns < 1)
            throw Invalid(path, $"declares images of {rows}x{columns} pixels; an image needs at least one row and one column");
        var pixels = ReadData(path, stream, (long)count * rows * columns, $"{count} images of {rows}x{columns} pixels");
        return new IdxImages(pixels, count, rows, columns);
    }

    /// <summary>Reads an IDX labels file (plain or gzip-compressed) whose labels are class indices below <paramref name="classCount"/>.</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="classCount">The number of classes; every label must be in [0, <paramref name="classCount"/>).</param>
    /// <returns>One label per item, in file order.</returns>
    /// <exception cref="InvalidDataException">The file is not a valid unsigned-byte IDX labels file, or a label is out of range; the message names the file and the problem.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classCount"/> is not in [1, 256].</exception>
    public static byte[] ReadLabels(string path, int classCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(classCount, 256);
        using var stream = OpenContent(path);
        var count = ReadHeader(path, stream, LabelsMagic, "labels")[0];
        var labels = ReadData(path, stream, count, $"{count} labels");
        for (var i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
                throw Invalid(path, $"has label {labels[i]} at index {i}, out of range: labels must be 0..{classCount - 1} ({classCount} classes)");
        }
        return labels;
    }

    /// <summary>Opens the file, behind a gzip decompressor if it starts with the gzip magic bytes.</summary>
    private static Stream OpenContent(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = File.OpenRead(path);
        Span<byte> start = stackalloc byte[2];
        var isGzip = file.ReadAtLeast(start, 2, throwOnEndOfStream: false) == 2 && start[0] == 0x1F && start[1] == 0x8B;
        file.Position = 0;
        return isGzip ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    /// <summary>Checks the magic number and returns the dimension sizes that follow it.</summary>
    private static int[] ReadHeader(string path, Stream stream, int expectedMagic, string kind)
    {
        var headerLength = 4 + 4 * (expectedMagic & 0xFF);
        var header = new byte[headerLength];
        var read = Read(path, stream, header.AsSpan(0, 4));
        if (read < 4)
            throw Invalid(path, $"is truncated: {read} bytes, too short for the 4-byte IDX magic number");
        var magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
            throw Invalid(path, DescribeWrongMagic(magic, expectedMagic, kind));

        read += Read(path, stream, header.AsSpan(4));
        if (read < headerLength)
            throw Invalid(path, $"is truncated: an IDX {kind} header is {headerLength} bytes, the file has {read}");
        var sizes = new int[expectedMagic & 0xFF];
        for (var d = 0; d < sizes.Length; d++)
        {
            sizes[d] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * d));
            // Sizes are unsigned 32-bit in the format; anything past int.MaxValue cannot be a real file here.
            if (sizes[d] < 0)
                throw Invalid(path, $"declares size {(uint)sizes[d]} for dimension {d}, larger than any file this reader can hold");
        }
        return sizes;
    }

    /// <summary>Reads exactly the data the header declares and checks that nothing follows it.</summary>
    private static byte[] ReadData(string path, Stream stream, long expected, string declared)
    {
        if (expected > Array.MaxLength)
            throw Invalid(path, $"declares {declared} ({expected} bytes of data), more than one array can hold");
        var data = new byte[expected];
        var read = Read(path, stream, data);
        if (read < expected)
            throw Invalid(path, $"is truncated: its header declares {declared} ({expected} bytes of data) but only {read} bytes follow the header");
        Span<byte> probe = stackalloc byte[4096];
        long extra = 0;
        int n;
        while ((n = Read(path, stream, probe)) > 0)
            extra += n;
        if (extra > 0)
            throw Invalid(path, $"has {extra} bytes more than its header declares ({declared}, {expected} bytes of data); the header count is wrong or the file is not what it claims");
        return data;
    }

    /// <summary>Fills <paramref name="buffer"/> as far as the stream allows, reporting a corrupt gzip stream as a problem of the file.</summary>
    private static int Read(string path, Stream stream, Span<byte> buffer)
    {
        try
        {
            return stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw Invalid(path, $"starts with the gzip magic bytes but does not decompress ({e.Message})", e);
        }
    }

    private static string DescribeWrongMagic(int magic, int expectedMagic, string kind)
    {
        var found = $"has magic number 0x{magic:X8}, expected 0x{expectedMagic:X8} (IDX {kind}: unsigned bytes, {expectedMagic & 0xFF} dimension(s))";
        if ((magic & unchecked((int)0xFFFF0000)) != 0)
            return found + "; it is not an IDX file";
        var type = (magic >> 8) & 0xFF;
        if (type != UnsignedByteType)
            return found + $"; element type 0x{type:X2} is not supported, only 0x08 (unsigned byte)";
        var dimensions = magic & 0xFF;
        return found + $"; {dimensions} dimension(s) where IDX {kind} files have {expectedMagic & 0xFF}"
            + (magic == LabelsMagic ? " (is it a labels file?)" : magic == ImagesMagic ? " (is it an images file?)" : "");
    }

    private static InvalidDataException Invalid(string path, string problem, Exception? inner = null) =>
        new($"IDX file '{path}' {problem}.", inner);
}
