// Where each entry of a .zip lives in the file (from its central directory), so tests can aim byte-level damage.
using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>The byte ranges of a well-formed .zip (no zip64, no archive comment), read from its central directory.</summary>
internal sealed class ZipLayout
{
    /// <summary>One entry: its name, the range of its local header and the range of its (compressed) data.</summary>
    public sealed record Entry(string Name, long HeaderStart, long DataStart, long DataLength)
    {
        public bool DataContains(long offset) => offset >= DataStart && offset < DataStart + DataLength;
    }

    private ZipLayout(IReadOnlyList<Entry> entries, long centralDirectoryStart)
    {
        Entries = entries;
        CentralDirectoryStart = centralDirectoryStart;
    }

    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>Where the central directory starts (it runs to the end of the file, end record included).</summary>
    public long CentralDirectoryStart { get; }

    public static ZipLayout Read(byte[] zip)
    {
        const int endRecordSize = 22;
        int end = zip.Length - endRecordSize;
        if (end < 0 || BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end)) != 0x06054b50)
            throw new ArgumentException("not a .zip without an archive comment");
        int count = BinaryPrimitives.ReadUInt16LittleEndian(zip.AsSpan(end + 10));
        int directory = (int)BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(end + 16));
        var entries = new List<Entry>();
        int position = directory;
        for (int i = 0; i < count; i++)
        {
            var record = zip.AsSpan(position);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != 0x02014b50)
                throw new ArgumentException($"central directory record {i} is damaged");
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(record[20..]);
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(record[28..]);
            int extraLength = BinaryPrimitives.ReadUInt16LittleEndian(record[30..]);
            int commentLength = BinaryPrimitives.ReadUInt16LittleEndian(record[32..]);
            long header = BinaryPrimitives.ReadUInt32LittleEndian(record[42..]);
            var name = Encoding.UTF8.GetString(record.Slice(46, nameLength));
            var local = zip.AsSpan((int)header);
            long data = header + 30 + BinaryPrimitives.ReadUInt16LittleEndian(local[26..]) + BinaryPrimitives.ReadUInt16LittleEndian(local[28..]);
            entries.Add(new Entry(name, header, data, compressed));
            position += 46 + nameLength + extraLength + commentLength;
        }
        return new ZipLayout(entries, directory);
    }
}
