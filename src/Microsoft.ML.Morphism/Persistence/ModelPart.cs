// The envelope of every binary part we store in a model .zip: magic, version, length and SHA-256, checked before use.
using System.Security.Cryptography;
using System.Text;

namespace Microsoft.ML.Morphism.Persistence;

/// <summary>
/// Writes and reads one named part of a saved model (network, weights, labels, recipe, history).
/// Layout: "MRPH" · u16 part format · i64 payload length · payload · SHA-256(payload). A part is
/// read in bounded chunks and its checksum verified before any of it is interpreted, so truncated,
/// bit-flipped or spliced parts fail with an <see cref="InvalidDataException"/> naming the part,
/// and a forged length never makes the reader allocate more than the bytes actually present.
/// </summary>
internal static class ModelPart
{
    private static readonly byte[] Magic = "MRPH"u8.ToArray();
    private const ushort PartFormat = 1;
    private const long MaxPayloadBytes = int.MaxValue - 64;

    /// <summary>The envelope around a payload: marker, format, length and SHA-256.</summary>
    public const int EnvelopeBytes = 4 + sizeof(ushort) + sizeof(long) + 32;

    /// <summary>
    /// The most payload bytes each part may claim, checked before any of it is read: a part padded with white space (a
    /// valid JSON of a gigabyte compresses to megabytes) is refused at its header. Generous for any real model; the
    /// weights' cap follows the network limits (every stored value as float64, plus room for the names).
    /// </summary>
    public static long MaxBytes(string part) => part switch
    {
        ModelPartsFormat.NetworkPart => 4L << 20,
        ModelPartsFormat.WeightsPart => Networks.NetworkLimits.Current.MaxParameters * sizeof(double) + (16L << 20),
        ModelPartsFormat.LabelsPart => 64L << 20,
        ModelPartsFormat.RecipePart => 64L << 10,
        ModelPartsFormat.HistoryPart => 4L << 20,
        ModelPartsFormat.LineagePart => 16L << 20,
        _ => MaxPayloadBytes,
    };

    public static void Write(BinaryWriter writer, Action<BinaryWriter> writePayload)
    {
        using var buffer = new MemoryStream();
        using (var payloadWriter = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
            writePayload(payloadWriter);
        var payload = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        writer.Write(Magic);
        writer.Write(PartFormat);
        writer.Write((long)payload.Length);
        writer.Write(payload);
        writer.Write(SHA256.HashData(payload));
    }

    /// <summary>Reads and verifies a part, then hands its payload to <paramref name="readPayload"/>.</summary>
    public static T Read<T>(BinaryReader reader, string part, Func<PayloadReader, T> readPayload)
    {
        var header = ReadExactly(reader.BaseStream, Magic.Length + sizeof(ushort) + sizeof(long), part, "header");
        if (!header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw Corrupt(part, "it does not start with the part marker");
        ushort format = BitConverter.ToUInt16(header, Magic.Length);
        if (format != PartFormat)
            throw Corrupt(part, $"its format {format} is not one this version reads ({PartFormat})");
        long length = BitConverter.ToInt64(header, Magic.Length + sizeof(ushort));
        if (length < 0 || length > MaxPayloadBytes)
            throw Corrupt(part, $"it claims {length} bytes");
        if (length > MaxBytes(part))
            throw Corrupt(part, $"it claims {length} bytes; a '{part}' part holds at most {MaxBytes(part):N0}");
        var payload = ReadExactly(reader.BaseStream, length, part, "payload");
        var checksum = ReadExactly(reader.BaseStream, SHA256.HashSizeInBytes, part, "checksum");
        if (!SHA256.HashData(payload).AsSpan().SequenceEqual(checksum))
            throw Corrupt(part, "its checksum does not match its contents");
        var payloadReader = new PayloadReader(payload, part);
        var result = readPayload(payloadReader);
        payloadReader.CheckAtEnd();
        return result;
    }

    // Problems often quote another exception's message, which ends with its own full stop.
    public static InvalidDataException Corrupt(string part, string problem, Exception? inner = null) =>
        new($"The model's '{part}' part is corrupt: {problem.TrimEnd('.')}.", inner);

    // Reads in chunks so a forged length cannot force a large allocation up front.
    private static byte[] ReadExactly(Stream stream, long length, string part, string what)
    {
        using var collected = new MemoryStream();
        var chunk = new byte[(int)Math.Min(length, 1 << 20)];
        long remaining = length;
        while (remaining > 0)
        {
            int read = stream.Read(chunk, 0, (int)Math.Min(chunk.Length, remaining));
            if (read <= 0)
                throw Corrupt(part, $"its {what} is truncated ({length - remaining} of {length} bytes)");
            collected.Write(chunk, 0, read);
            remaining -= read;
        }
        return collected.ToArray();
    }
}
