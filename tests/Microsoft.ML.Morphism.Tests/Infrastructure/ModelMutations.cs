// Seeded damage to a saved model .zip: truncations, bit flips and splices of our parts, of ML.NET's entries and of the raw file.
using System.IO.Compression;
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;

namespace Microsoft.ML.Morphism.Tests.Infrastructure;

/// <summary>Where a mutation damaged the model.</summary>
internal enum DamageKind
{
    /// <summary>The stored bytes of one of our parts (envelope and payload, as the library reads them).</summary>
    PartBytes,
    /// <summary>One of our parts' payload, re-enveloped with a valid length and checksum (forged content).</summary>
    ForgedPart,
    /// <summary>The content of an entry ML.NET writes (Model.key files, schema, version, vocabulary).</summary>
    OtherEntry,
    /// <summary>The .zip file's raw bytes (compressed data, local headers, central directory).</summary>
    RawFile,
}

/// <summary>
/// One damaged model. <see cref="Part"/> names our part when every changed byte belongs to it
/// (for <see cref="DamageKind.RawFile"/>: only flips inside its compressed data), else null.
/// </summary>
internal sealed record ModelMutation(DamageKind Kind, string? Part, string Description, byte[] Bytes);

/// <summary>Generates mutations of a saved model, deterministic in the seed.</summary>
internal static class ModelMutations
{
    public static readonly string[] Parts =
        [ModelPartsFormat.NetworkPart, ModelPartsFormat.WeightsPart, ModelPartsFormat.LabelsPart, ModelPartsFormat.RecipePart, ModelPartsFormat.HistoryPart];

    private const int EnvelopeHeader = 4 + sizeof(ushort) + sizeof(long);

    /// <summary>
    /// <paramref name="count"/> mutations of <paramref name="model"/>, in the proportions of <paramref name="kinds"/>;
    /// splices take bytes from <paramref name="donor"/> (another saved model with the same pipeline).
    /// </summary>
    public static List<ModelMutation> Generate(byte[] model, byte[] donor, int count, int seed, IReadOnlyDictionary<DamageKind, int> kinds)
    {
        var random = new Random(seed);
        var entries = ReadEntries(model);
        var donorEntries = ReadEntries(donor).ToDictionary(e => e.Name, e => e.Content);
        var layout = ZipLayout.Read(model);
        var ours = entries.Where(e => PartOf(e.Name) is not null).ToList();
        var others = entries.Where(e => PartOf(e.Name) is null).ToList();
        int total = kinds.Values.Sum();
        var mutations = new List<ModelMutation>();
        foreach (var (kind, weight) in kinds)
        {
            int n = (int)Math.Round((double)count * weight / total);
            for (int i = 0; i < n && mutations.Count < count; i++)
                mutations.Add(kind switch
                {
                    DamageKind.PartBytes => DamageEntry(entries, ours[random.Next(ours.Count)], donorEntries, random, forge: false),
                    DamageKind.ForgedPart => DamageEntry(entries, ours[random.Next(ours.Count)], donorEntries, random, forge: true),
                    DamageKind.OtherEntry => DamageEntry(entries, others[random.Next(others.Count)], donorEntries, random, forge: false),
                    _ => DamageFile(model, donor, layout, random),
                });
        }
        return mutations;
    }

    /// <summary>The part an entry holds ("TransformerChain/Transform_001/Weights" holds "Weights"), or null.</summary>
    public static string? PartOf(string entryName)
    {
        var last = entryName[(entryName.LastIndexOfAny(['/', '\\']) + 1)..];
        return Parts.Contains(last) ? last : null;
    }

    /// <summary>A copy of <paramref name="model"/> with one entry's content replaced.</summary>
    public static byte[] ReplaceEntry(byte[] model, string name, byte[] content)
    {
        var entries = ReadEntries(model);
        if (!entries.Any(e => e.Name == name))
            throw new ArgumentException($"no entry '{name}'");
        return WriteEntries(entries.Select(e => e.Name == name ? e with { Content = content } : e));
    }

    /// <summary>A copy of <paramref name="model"/> with one more entry at the end (its name may repeat an existing one).</summary>
    public static byte[] AppendEntry(byte[] model, string name, byte[] content) =>
        WriteEntries([.. ReadEntries(model), new ZipEntryContent(name, content)]);

    /// <summary>The content of one entry.</summary>
    public static byte[] ReadEntry(byte[] model, string name) => ReadEntries(model).Single(e => e.Name == name).Content;

    /// <summary>The names of all entries.</summary>
    public static IReadOnlyList<string> EntryNames(byte[] model) => [.. ReadEntries(model).Select(e => e.Name)];

    /// <summary>A part envelope (marker, format 1, length, payload, SHA-256) around <paramref name="payload"/>, as ModelPart writes it.</summary>
    public static byte[] Envelope(byte[] payload)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
            ModelPart.Write(writer, w => w.Write(payload));
        return buffer.ToArray();
    }

    /// <summary>The payload inside a part envelope.</summary>
    public static byte[] Payload(byte[] envelope)
    {
        long length = BitConverter.ToInt64(envelope, EnvelopeHeader - sizeof(long));
        return envelope.AsSpan(EnvelopeHeader, (int)length).ToArray();
    }

    private sealed record ZipEntryContent(string Name, byte[] Content);

    private static List<ZipEntryContent> ReadEntries(byte[] zip)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        return [.. archive.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var content = new MemoryStream();
            stream.CopyTo(content);
            return new ZipEntryContent(e.FullName, content.ToArray());
        })];
    }

    private static byte[] WriteEntries(IEnumerable<ZipEntryContent> entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var entry in entries)
            {
                using var stream = archive.CreateEntry(entry.Name).Open();
                stream.Write(entry.Content);
            }
        return buffer.ToArray();
    }

    private static ModelMutation DamageEntry(List<ZipEntryContent> entries, ZipEntryContent target, Dictionary<string, byte[]> donor,
        Random random, bool forge)
    {
        var part = PartOf(target.Name);
        var original = forge ? Payload(target.Content) : target.Content;
        var donorBytes = donor.TryGetValue(target.Name, out var d) ? (forge ? Payload(d) : d) : original;
        var (damaged, what) = DamageBytes(original, donorBytes, random);
        var content = forge ? Envelope(damaged) : damaged;
        var kind = forge ? DamageKind.ForgedPart : part is null ? DamageKind.OtherEntry : DamageKind.PartBytes;
        var description = $"{kind} {target.Name}{(forge ? " (payload, re-enveloped)" : "")}: {what}";
        return new ModelMutation(kind, part, description, WriteEntries(entries.Select(e => e == target ? e with { Content = content } : e)));
    }

    // One truncation, bit flip or splice that changes the bytes.
    private static (byte[] Bytes, string What) DamageBytes(byte[] original, byte[] donor, Random random)
    {
        while (true)
        {
            var (bytes, what) = random.Next(3) switch
            {
                0 => Truncate(original, random),
                1 => FlipBits(original, random, 0, original.Length),
                _ => Splice(original, donor, random),
            };
            if (!bytes.AsSpan().SequenceEqual(original))
                return (bytes, what);
        }
    }

    private static (byte[], string) Truncate(byte[] original, Random random)
    {
        int length = random.Next(original.Length);
        return (original[..length], $"truncated to {length} of {original.Length} bytes");
    }

    private static (byte[], string) FlipBits(byte[] original, Random random, long from, long to)
    {
        var bytes = (byte[])original.Clone();
        int flips = 1 + random.Next(3);
        var at = new List<string>();
        for (int i = 0; i < flips; i++)
        {
            int position = (int)random.NextInt64(from, to);
            int bit = random.Next(8);
            bytes[position] ^= (byte)(1 << bit);
            at.Add($"{position}.{bit}");
        }
        return (bytes, $"bit(s) flipped at byte.bit {string.Join(", ", at)}");
    }

    // Replaces a random range with a random range of the donor (or of itself), possibly of another length.
    private static (byte[], string) Splice(byte[] original, byte[] donor, Random random)
    {
        int start = random.Next(original.Length + 1), end = Math.Min(original.Length, start + random.Next(64));
        int donorStart = random.Next(donor.Length + 1), donorEnd = Math.Min(donor.Length, donorStart + random.Next(64));
        byte[] spliced = [.. original.AsSpan(0, start), .. donor.AsSpan(donorStart, donorEnd - donorStart), .. original.AsSpan(end)];
        return (spliced, $"bytes [{start}, {end}) replaced by donor bytes [{donorStart}, {donorEnd})");
    }

    private static ModelMutation DamageFile(byte[] model, byte[] donor, ZipLayout layout, Random random)
    {
        switch (random.Next(5))
        {
            case 0:
            {
                var (bytes, what) = Truncate(model, random);
                return new ModelMutation(DamageKind.RawFile, null, $"RawFile: {what}", bytes);
            }
            case 1:
            {
                var (bytes, what) = FlipBits(model, random, layout.CentralDirectoryStart, model.Length);
                return new ModelMutation(DamageKind.RawFile, null, $"RawFile central directory: {what}", bytes);
            }
            case 2:
            {
                // Flips inside one entry's compressed data: ours must then name themselves (or change nothing).
                var entry = layout.Entries[random.Next(layout.Entries.Count)];
                var (bytes, what) = FlipBits(model, random, entry.DataStart, entry.DataStart + entry.DataLength);
                return new ModelMutation(DamageKind.RawFile, PartOf(entry.Name), $"RawFile data of {entry.Name}: {what}", bytes);
            }
            case 3:
            {
                var (bytes, what) = FlipBits(model, random, 0, model.Length);
                return new ModelMutation(DamageKind.RawFile, null, $"RawFile anywhere: {what}", bytes);
            }
            default:
            {
                int cut = random.Next(model.Length), donorCut = random.Next(donor.Length);
                byte[] bytes = [.. model.AsSpan(0, cut), .. donor.AsSpan(donorCut)];
                return new ModelMutation(DamageKind.RawFile, null, $"RawFile: first {cut} bytes + donor from byte {donorCut}", bytes);
            }
        }
    }
}
