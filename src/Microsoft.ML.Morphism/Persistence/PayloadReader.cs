// Bounds-checked reading of a model part's verified payload; every problem names the part.
using System.Text;

namespace Microsoft.ML.Morphism.Persistence;

/// <summary>Bounds-checked reading of a verified payload; every problem names the part.</summary>
internal sealed class PayloadReader(byte[] payload, string part)
{
    private int _position;

    public string Part => part;

    public int Remaining => payload.Length - _position;

    public byte ReadByte() => Take(1)[0];

    public int ReadInt32() => BitConverter.ToInt32(Take(4));

    public long ReadInt64() => BitConverter.ToInt64(Take(8));

    /// <summary>A count that must be in [0, max] and fit in what is left (at least <paramref name="minBytesEach"/> per item).</summary>
    public int ReadCount(string what, int max, int minBytesEach)
    {
        int count = ReadInt32();
        if (count < 0 || count > max || (long)count * minBytesEach > Remaining)
            throw ModelPart.Corrupt(part, $"it claims {count} {what}");
        return count;
    }

    public string ReadString(string what, int maxBytes = 1 << 20)
    {
        int length = ReadCount($"bytes of {what}", maxBytes, 1);
        return System.Text.Encoding.UTF8.GetString(Take(length));
    }

    public ReadOnlySpan<byte> ReadBytes(int count) => Take(count);

    public InvalidDataException Corrupt(string problem, Exception? inner = null) => ModelPart.Corrupt(part, problem, inner);

    public void CheckAtEnd()
    {
        if (Remaining != 0)
            throw ModelPart.Corrupt(part, $"{Remaining} unexpected bytes follow its contents");
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count < 0 || count > Remaining)
            throw ModelPart.Corrupt(part, "it ends early");
        var span = payload.AsSpan(_position, count);
        _position += count;
        return span;
    }
}
