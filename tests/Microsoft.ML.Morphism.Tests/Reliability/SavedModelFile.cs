// A saved model's bytes with helpers to replace or damage our parts, and to read an exception chain.
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

internal sealed class SavedModelFile(byte[] bytes)
{
    public byte[] Bytes { get; private set; } = bytes;

    /// <summary>The zip entry that holds <paramref name="part"/> (e.g. "TransformerChain/Transform_001/Weights").</summary>
    public string EntryOf(string part) => ModelMutations.EntryNames(Bytes).Single(n => ModelMutations.PartOf(n) == part);

    /// <summary>Replaces a part by a validly enveloped (correct length and checksum) payload written by <paramref name="writePayload"/>.</summary>
    public SavedModelFile Forge(string part, Action<BinaryWriter> writePayload)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer))
            ModelPart.Write(writer, writePayload);
        Bytes = ModelMutations.ReplaceEntry(Bytes, EntryOf(part), buffer.ToArray());
        return this;
    }

    /// <summary>Replaces the Network and Weights parts by a consistent forged pair.</summary>
    public SavedModelFile ForgeNetwork(NetworkDescription network, NetworkWeights weights) =>
        Forge(ModelPartsFormat.NetworkPart, w => ModelPartsFormat.WriteNetwork(w, network))
            .Forge(ModelPartsFormat.WeightsPart, w => ModelPartsFormat.WriteWeights(w, weights));

    /// <summary>Replaces a part's stored bytes (envelope included) by <paramref name="damage"/>(original).</summary>
    public SavedModelFile DamagePart(string part, Func<byte[], byte[]> damage)
    {
        var entry = EntryOf(part);
        Bytes = ModelMutations.ReplaceEntry(Bytes, entry, damage(ModelMutations.ReadEntry(Bytes, entry)));
        return this;
    }

    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, Bytes);
        return path;
    }

    /// <summary>The classifier's format version as written and the oldest version that can read it (its ML.NET header follows the 8-byte model signature).</summary>
    public static (uint Written, uint Readable) ClassifierVersion(string path)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        var headers = zip.Entries.Select(e =>
        {
            using var stream = e.Open();
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            return bytes.ToArray();
        }).Select(b => (Bytes: b, At: b.AsSpan().IndexOf("MRPHIMGC"u8))).Where(h => h.At >= 0).ToList();
        var (header, at) = Assert.Single(headers);
        return (BitConverter.ToUInt32(header, at + 8), BitConverter.ToUInt32(header, at + 12));
    }

    /// <summary>Every message of an exception chain (InnerException links), outermost first.</summary>
    public static string MessageChain(Exception e)
    {
        var messages = new List<string>();
        for (var current = e; current is not null; current = current.InnerException)
            messages.Add($"{current.GetType().Name}: {current.Message}");
        return string.Join(" --> ", messages);
    }
}
