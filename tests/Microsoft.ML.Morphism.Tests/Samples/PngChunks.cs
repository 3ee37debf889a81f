// Takes PNG files apart into chunks and puts them back with valid CRCs, to build files the decoder must refuse for one reason only.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

/// <summary>A PNG chunk: its four-letter type and its data.</summary>
internal sealed record PngChunk(string Type, byte[] Data);

/// <summary>Splits and rebuilds PNG files, independently of the codec under test (only its CRC-32 is shared).</summary>
internal static class PngChunks
{
    public static readonly byte[] Signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public static List<PngChunk> Split(byte[] png)
    {
        var chunks = new List<PngChunk>();
        for (var offset = Signature.Length; offset < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            chunks.Add(new PngChunk(Encoding.ASCII.GetString(png, offset + 4, 4), png[(offset + 8)..(offset + 8 + length)]));
            offset += 12 + length;
        }
        return chunks;
    }

    public static byte[] Join(IEnumerable<PngChunk> chunks)
    {
        using var file = new MemoryStream();
        file.Write(Signature);
        foreach (var chunk in chunks)
        {
            var type = Encoding.ASCII.GetBytes(chunk.Type);
            var word = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(word, chunk.Data.Length);
            file.Write(word);
            file.Write(type);
            file.Write(chunk.Data);
            BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute([.. type, .. chunk.Data]));
            file.Write(word);
        }
        return file.ToArray();
    }

    /// <summary>The PNG with the IHDR byte at <paramref name="index"/> (8 = bit depth, 9 = color type, 12 = interlace) set to <paramref name="value"/>.</summary>
    public static byte[] WithHeaderByte(byte[] png, int index, byte value) =>
        Join(Split(png).Select(c => c.Type == "IHDR" ? c with { Data = Replaced(c.Data, index, value) } : c));

    /// <summary>The PNG with its IDAT data replaced by <paramref name="rawRows"/> (filter bytes and pixels), zlib-compressed.</summary>
    public static byte[] WithRawRows(byte[] png, byte[] rawRows) =>
        Join(Split(png).Select(c => c.Type == "IDAT" ? c with { Data = Zlib(rawRows) } : c));

    /// <summary>The filter bytes and pixels of the IDAT data, decompressed.</summary>
    public static byte[] RawRows(byte[] png)
    {
        var compressed = Split(png).Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        using var zlib = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        zlib.CopyTo(raw);
        return raw.ToArray();
    }

    private static byte[] Zlib(byte[] data)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
            zlib.Write(data);
        return compressed.ToArray();
    }

    private static byte[] Replaced(byte[] data, int index, byte value)
    {
        var copy = data.ToArray();
        copy[index] = value;
        return copy;
    }
}
