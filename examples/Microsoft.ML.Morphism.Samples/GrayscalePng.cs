// Writes and reads 8-bit grayscale PNG files with nothing but the base library (zlib included).
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>An 8-bit grayscale image: <see cref="Width"/> x <see cref="Height"/> pixels, row-major, 0 = black.</summary>
public sealed class GrayscaleImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied) as an image of <paramref name="width"/> x <paramref name="height"/> pixels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is less than one pixel.</exception>
    /// <exception cref="ArgumentException">The buffer length is not <c>width * height</c>.</exception>
    public GrayscaleImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        GrayscalePng.CheckSize(pixels.Length, width, height, nameof(pixels));
        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>The width in pixels.</summary>
    public int Width { get; }

    /// <summary>The height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels, row after row, one byte each.</summary>
    public byte[] Pixels { get; }
}

/// <summary>
/// A minimal PNG codec for 8-bit grayscale images, so the examples can turn IDX images into the image
/// files ML.NET's image loader and Model Builder expect, and tests can read them back, without an image library.
/// </summary>
/// <remarks>
/// The encoder writes the smallest valid file layout: signature, IHDR (8-bit grayscale, non-interlaced),
/// one IDAT chunk (zlib, every row with filter type 0) and IEND. The decoder reads that layout and
/// skips ancillary chunks; it rejects other colour types, bit depths, interlacing and row filters
/// other than 0 with an <see cref="InvalidDataException"/> saying which, rather than misreading them.
/// </remarks>
public static class GrayscalePng
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    private const int IhdrLength = 13;
    private const byte BitDepth8 = 8;
    private const byte ColorTypeGrayscale = 0;
    private const byte FilterNone = 0;

    /// <summary>Encodes <paramref name="pixels"/> (row-major, one byte per pixel) as a PNG file.</summary>
    /// <param name="pixels">The pixels, <paramref name="width"/> x <paramref name="height"/> bytes.</param>
    /// <param name="width">The width in pixels, at least 1.</param>
    /// <param name="height">The height in pixels, at least 1.</param>
    /// <returns>The bytes of the PNG file. The same input always gives the same bytes.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A side is less than one pixel.</exception>
    /// <exception cref="ArgumentException">The pixel count is not <c>width * height</c>.</exception>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int width, int height)
    {
        CheckSize(pixels.Length, width, height, nameof(pixels));
        using var file = new MemoryStream();
        file.Write(Signature);

        Span<byte> header = stackalloc byte[IhdrLength];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = BitDepth8;
        header[9] = ColorTypeGrayscale;
        header[10] = 0; // compression method: zlib deflate, the only one defined
        header[11] = 0; // filter method: adaptive filtering with five types, the only one defined
        header[12] = 0; // no interlacing
        WriteChunk(file, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                for (var row = 0; row < height; row++)
                {
                    zlib.WriteByte(FilterNone);
                    zlib.Write(pixels.Slice(row * width, width));
                }
            }
            WriteChunk(file, "IDAT", compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        }

        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    /// <summary>Encodes the pixels as a PNG file (see <see cref="Encode"/>) and writes it to <paramref name="path"/>, replacing any file there.</summary>
    public static void Write(string path, ReadOnlySpan<byte> pixels, int width, int height) =>
        File.WriteAllBytes(path, Encode(pixels, width, height));

    /// <summary>Decodes an 8-bit grayscale, non-interlaced PNG file whose rows all use filter type 0, as <see cref="Encode"/> writes.</summary>
    /// <param name="png">The bytes of the PNG file.</param>
    /// <returns>The image.</returns>
    /// <exception cref="InvalidDataException">The bytes are not a PNG file, are damaged (bad checksum, truncated), or use a feature this decoder does not read; the message says which.</exception>
    public static GrayscaleImage Decode(ReadOnlySpan<byte> png)
    {
        if (png.Length < Signature.Length || !png[..Signature.Length].SequenceEqual(Signature))
            throw Invalid("it does not start with the PNG signature");

        int width = 0, height = 0;
        var seenHeader = false;
        using var imageData = new MemoryStream();
        var offset = Signature.Length;
        while (true)
        {
            if (png.Length - offset < 12)
                throw Invalid($"it ends at byte {png.Length} without an IEND chunk (truncated?)");
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[offset..]);
            var typeBytes = png.Slice(offset + 4, 4);
            var type = Encoding.ASCII.GetString(typeBytes);
            if (!IsChunkType(typeBytes))
                throw Invalid($"it has an invalid chunk type {Convert.ToHexString(typeBytes)} at byte {offset}");
            if (length > (uint)(png.Length - offset - 12))
                throw Invalid($"chunk '{type}' at byte {offset} declares {length} bytes of data but the file ends first (truncated?)");
            var data = png.Slice(offset + 8, (int)length);
            var storedCrc = BinaryPrimitives.ReadUInt32BigEndian(png[(offset + 8 + (int)length)..]);
            var actualCrc = Crc32.Append(Crc32.Compute(typeBytes), data);
            if (storedCrc != actualCrc)
                throw Invalid($"chunk '{type}' at byte {offset} has CRC 0x{storedCrc:X8} but its content gives 0x{actualCrc:X8} (damaged file)");
            offset += 12 + (int)length;

            if (!seenHeader)
            {
                if (type != "IHDR")
                    throw Invalid($"its first chunk is '{type}', not 'IHDR'");
                (width, height) = ReadHeader(data);
                seenHeader = true;
            }
            else if (type == "IDAT")
                imageData.Write(data);
            else if (type == "IEND")
                break;
            else if (char.IsUpper(type[0]))
                throw Invalid($"it has critical chunk '{type}', which an 8-bit grayscale PNG does not need and this decoder does not read");
            // Ancillary chunks (lower-case first letter: text, gamma, time...) do not change the pixels.
        }
        if (offset != png.Length)
            throw Invalid($"it has {png.Length - offset} bytes after the IEND chunk");
        if (imageData.Length == 0)
            throw Invalid("it has no IDAT chunk (no image data)");

        return new GrayscaleImage(width, height, Unfilter(Inflate(imageData, width, height), width, height));
    }

    /// <summary>Reads and decodes a PNG file (see <see cref="Decode"/>).</summary>
    /// <exception cref="InvalidDataException">The file is not a PNG file this decoder reads; the message names the file and the problem.</exception>
    public static GrayscaleImage Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        try
        {
            return Decode(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"PNG file '{path}': {e.Message}", e);
        }
    }

    /// <summary>Shared by the codec and <see cref="GrayscaleImage"/>: sides of at least one pixel, and exactly one byte per pixel.</summary>
    internal static void CheckSize(int pixelCount, int width, int height, string parameterName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if ((long)width * height != pixelCount)
            throw new ArgumentException($"A {width}x{height} image has {(long)width * height} pixels, {pixelCount} were given.", parameterName);
    }

    private static void WriteChunk(Stream file, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        Encoding.ASCII.GetBytes(type, typeBytes);
        file.Write(typeBytes);
        file.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Append(Crc32.Compute(typeBytes), data));
        file.Write(word);
    }

    private static (int Width, int Height) ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length != IhdrLength)
            throw Invalid($"its IHDR chunk has {header.Length} bytes, not {IhdrLength}");
        var width = BinaryPrimitives.ReadInt32BigEndian(header);
        var height = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (width < 1 || height < 1)
            throw Invalid($"its IHDR declares a {(uint)width}x{(uint)height} image; both sides must be between 1 and 2^31-1");
        var (bitDepth, colorType) = (header[8], header[9]);
        if (bitDepth != BitDepth8 || colorType != ColorTypeGrayscale)
            throw Invalid($"it is {DescribeColorType(colorType)} with bit depth {bitDepth}; only 8-bit grayscale (color type 0, bit depth 8) is read");
        if (header[10] != 0)
            throw Invalid($"its IHDR names compression method {header[10]}; PNG defines only 0 (zlib deflate)");
        if (header[11] != 0)
            throw Invalid($"its IHDR names filter method {header[11]}; PNG defines only 0");
        if (header[12] != 0)
            throw Invalid($"it is interlaced (interlace method {header[12]}); only non-interlaced images are read");
        if ((width + 1L) * height > Array.MaxLength)
            throw Invalid($"its {width}x{height} image is too large to hold in memory as one array");
        return (width, height);
    }

    private static string DescribeColorType(byte colorType) => colorType switch
    {
        0 => "grayscale (color type 0)",
        2 => "truecolor RGB (color type 2)",
        3 => "palette-indexed (color type 3)",
        4 => "grayscale with alpha (color type 4)",
        6 => "RGBA (color type 6)",
        _ => $"of unknown color type {colorType}",
    };

    /// <summary>Decompresses the IDAT stream, which must hold exactly one filter byte plus <paramref name="width"/> pixels per row.</summary>
    private static byte[] Inflate(MemoryStream imageData, int width, int height)
    {
        var expected = (width + 1L) * height;
        var rows = new byte[expected];
        int read;
        bool moreThanExpected;
        imageData.Position = 0;
        try
        {
            using var zlib = new ZLibStream(imageData, CompressionMode.Decompress, leaveOpen: true);
            read = zlib.ReadAtLeast(rows, rows.Length, throwOnEndOfStream: false);
            moreThanExpected = read == expected && zlib.ReadByte() >= 0;
        }
        catch (InvalidDataException e)
        {
            throw Invalid($"its image data is not a valid zlib stream ({e.Message})", e);
        }
        if (read < expected)
            throw Invalid($"its image data holds {read} bytes after decompression, a {width}x{height} 8-bit grayscale image needs {expected}");
        if (moreThanExpected)
            throw Invalid($"its image data holds more than the {expected} bytes a {width}x{height} 8-bit grayscale image needs");
        return rows;
    }

    /// <summary>Drops the per-row filter bytes; every row must use filter type 0 (None), the only one <see cref="Encode"/> writes.</summary>
    private static byte[] Unfilter(byte[] rows, int width, int height)
    {
        var pixels = new byte[(long)width * height];
        for (var row = 0; row < height; row++)
        {
            var start = row * (width + 1);
            var filter = rows[start];
            if (filter != FilterNone)
                throw Invalid($"row {row} uses filter type {filter}{DescribeFilter(filter)}; only filter type 0 (None) is read");
            Array.Copy(rows, start + 1, pixels, row * width, width);
        }
        return pixels;
    }

    private static string DescribeFilter(byte filter) => filter switch
    {
        1 => " (Sub)",
        2 => " (Up)",
        3 => " (Average)",
        4 => " (Paeth)",
        _ => ", which PNG does not define",
    };

    private static bool IsChunkType(ReadOnlySpan<byte> type)
    {
        foreach (var b in type)
        {
            if (!char.IsAsciiLetter((char)b))
                return false;
        }
        return true;
    }

    private static InvalidDataException Invalid(string problem, Exception? inner = null) =>
        new($"Not a PNG this decoder reads: {problem}.", inner);
}
