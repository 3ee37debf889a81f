// Forged model parts with valid checksums: huge shapes and unknown layer kinds are rejected before anything is allocated.
using System.Text;
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// A checksum only proves a part is what was written, not that it is safe: a forged or buggy writer
/// can envelope any payload. Every part below carries a valid length and SHA-256, so only the content
/// checks can reject it — and they must, before a tensor (or a buffer sized from the claim) exists:
/// each load may allocate at most 64 MB of managed memory.
/// </summary>
public class ForgedModelTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly MLContext _ml = new(seed: 1);
    private readonly byte[] _saved;

    public ForgedModelTests()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 4, seed: 1));
        _saved = SmallModels.Save(_ml, SmallModels.Train(_ml, data), data.Schema, _dir.File("model.zip"));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void WeightsClaimingTwoToTheFortyValuesAreRejected()
    {
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.WeightsPart, w =>
        {
            w.Write((byte)Precision.Float32);
            w.Write(1); // one tensor
            WriteString(w, "conv1.weight");
            w.Write(2); // rank 2: [2^20, 2^20] = 2^40 values, 4 TiB as float32
            w.Write(1L << 20);
            w.Write(1L << 20);
            w.Write(new byte[64]);
        });

        var chain = LoadFailure(model);

        AssertContains("The model's 'Weights' part is corrupt: tensor 'conv1.weight' claims shape [1048576", chain);
        AssertContains("more values than the part holds", chain);
    }

    [Theory]
    // Consistent and tiny in parameters, but one conv output is 4×40010×40010 (25.6 GB per example as float32).
    [InlineData("input(1,12,12) conv(4,3,pad=1) gap dense(4)", "\"padding\":1", "\"padding\":20000",
        "Layer 'conv1' outputs 4×40010×40010, that is 6,403,200,400 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer)")]
    // The review's forgery: 4.4 KB, one row took 15 s and +2 GB; with 12 relus, 81 s and over 12 GB.
    [InlineData("input(1,12,12) conv(1,1,pad=1) relu relu relu relu relu relu relu relu relu relu relu relu gap dense(4)", "\"padding\":1", "\"padding\":8000",
        "Layer 'conv1' outputs 1×16012×16012, that is 256,384,144 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer)")]
    // Just under the per-layer limit, but its relus keep every output alive: the total is refused.
    [InlineData("input(1,12,12) conv(16,1,pad=1) relu relu relu gap dense(4)", "\"padding\":1", "\"padding\":504",
        "The input and the layers' outputs total 66,585,764 values per image (the largest: 'conv1', 16,646,400); the limit is 33,554,432 (NetworkLimits.MaxActivationValues)")]
    // maxpool(16001, stride=1): 41 s for one row.
    [InlineData("input(1,12,12) maxpool(3,stride=1,pad=1) gap dense(4)", "\"kernelSize\":3", "\"kernelSize\":16001",
        "Layer 'maxpool1'")]
    public void NetworkBeyondTheLimitsIsRejectedAtLoad(string text, string from, string to, string expected)
    {
        var small = NetworkDescription.Parse(text);
        var json = small.ToJson();
        Assert.Contains(from, json);
        var model = new SavedModelFile(_saved)
            .Forge(ModelPartsFormat.NetworkPart, w => WriteString(w, json.Replace(from, to, StringComparison.Ordinal)))
            .Forge(ModelPartsFormat.WeightsPart, w => ModelPartsFormat.WriteWeights(w, NetworkWeights.Initialize(small, seed: 1)));

        var chain = LoadFailure(model);

        AssertContains("The model's 'Network' part is corrupt: Network JSON is not valid: ", chain);
        AssertContains(expected, chain);
    }

    [Fact]
    public void NetworkWhoseInputIsHugeIsRejected()
    {
        // 2^40 values per example, and no layer has parameters that depend on the input size.
        var json = NetworkDescription.Parse("input(1,12,12) conv(4,3) gap dense(4)").ToJson()
            .Replace("\"input\":[1,12,12]", "\"input\":[1,1048576,1048576]", StringComparison.Ordinal);
        Assert.Contains("1048576", json);
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.NetworkPart, w => WriteString(w, json));

        var chain = LoadFailure(model);

        AssertContains("The model's 'Network' part is corrupt: Network JSON is not valid: The input (1×1048576×1048576) has 1,099,511,627,776 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer).", chain);
    }

    [Fact]
    public void UnknownLayerKindIsRejected()
    {
        var json = NetworkDescription.Parse("input(1,12,12) conv(4,3) relu maxpool(2) flatten dense(4)").ToJson()
            .Replace("\"kind\":\"flatten\"", "\"kind\":\"lstm\"", StringComparison.Ordinal);
        Assert.Contains("lstm", json);
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.NetworkPart, w => WriteString(w, json));

        var chain = LoadFailure(model);

        AssertContains("The model's 'Network' part is corrupt: Network JSON is not valid", chain);
        AssertContains("'lstm'", chain);
        Assert.DoesNotContain("..", chain, StringComparison.Ordinal);
    }

    [Fact]
    public void NullLayerInsideABranchIsRejected()
    {
        var json = NetworkDescription.Parse("input(1,12,12) parallel(conv(4,3) | conv(4,3)) relu maxpool(2) flatten dense(4)").ToJson();
        int conv = json.IndexOf("{\"kind\":\"conv\"", StringComparison.Ordinal);
        json = json[..conv] + "null" + json[(json.IndexOf('}', conv) + 1)..];
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.NetworkPart, w => WriteString(w, json));

        var chain = LoadFailure(model);

        AssertContains("The model's 'Network' part is corrupt: Network JSON is not valid", chain);
    }

    [Fact]
    public void UnknownPrecisionCodeIsRejected()
    {
        var model = new SavedModelFile(_saved).DamagePart(ModelPartsFormat.WeightsPart, envelope =>
        {
            var payload = ModelMutations.Payload(envelope);
            payload[0] = 7;
            return ModelMutations.Envelope(payload);
        });

        var chain = LoadFailure(model);

        AssertContains("The model's 'Weights' part is corrupt: unknown precision code 7", chain);
    }

    [Theory]
    [InlineData(1L << 30)] // 1 GiB: below the envelope's limit, so only the chunked read keeps it from being allocated
    [InlineData(1L << 40)]
    public void PartClaimingMoreBytesThanItHoldsIsRejected(long claimed)
    {
        var model = new SavedModelFile(_saved).DamagePart(ModelPartsFormat.RecipePart, envelope =>
        {
            BitConverter.GetBytes(claimed).CopyTo(envelope, 6); // after "MRPH" and the u16 format
            return envelope;
        });

        var chain = LoadFailure(model);

        AssertContains("The model's 'Recipe' part is corrupt:", chain);
        AssertContains($"{claimed}", chain);
    }

    [Theory]
    [InlineData("weightDecay", "WeightDecay must be in [0, 1] (got Infinity)")]
    [InlineData("batchSize", "BatchSize must be in [1, 65,536] (got 2147483647)")]
    [InlineData("maxEpoch", "MaxEpoch must be in [0, 100,000] (got 2147483647)")]
    [InlineData("shiftPixels", "ShiftPixels must be in [0, 1,024] (got 2147483647)")]
    public void RecipeOutOfRangeIsRejectedAtLoad(string setting, string expected)
    {
        // Issue 16: these passed load validation; a refit from the weight decay ∞ recipe silently returned the parent's weights.
        var recipe = setting switch
        {
            "weightDecay" => new Training.TrainingRecipe { WeightDecay = double.PositiveInfinity },
            "batchSize" => new Training.TrainingRecipe { BatchSize = int.MaxValue },
            "maxEpoch" => new Training.TrainingRecipe { MaxEpoch = int.MaxValue },
            _ => new Training.TrainingRecipe { ShiftPixels = int.MaxValue },
        };
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.RecipePart, w => ModelPartsFormat.WriteJson(w, recipe));

        var chain = LoadFailure(model);

        AssertContains($"The model's 'Recipe' part is corrupt: {expected}", chain);
    }

    [Fact]
    public void ADuplicateZipEntryIsRefusedNamingIt()
    {
        // Issue 16: ML.NET's reader keeps the last of two entries with one name, silently. Here the second Weights entry
        // is a valid part (other weights of the same network), so only the duplicate check can refuse the file.
        var file = new SavedModelFile(_saved);
        var entry = file.EntryOf(ModelPartsFormat.WeightsPart);
        var network = NetworkDescription.Parse("input(1,12,12) " + SmallModels.Architecture + " dense(4)");
        using var other = new MemoryStream();
        using (var w = new BinaryWriter(other))
            ModelPart.Write(w, p => ModelPartsFormat.WriteWeights(p, NetworkWeights.Initialize(network, seed: 99)));
        var forged = new SavedModelFile(ModelMutations.AppendEntry(_saved, entry, other.ToArray()));

        var chain = LoadFailure(forged);

        Assert.True(Persistence.ZipEntryCheck.Available, "ML.NET's RepositoryReader no longer has the archive field the check reads.");
        AssertContains($"The model file holds two zip entries named '{entry}'; ML.NET would read only the last.", chain);
    }

    [Fact]
    public void APartPaddedWithWhiteSpaceIsRefusedAtItsHeader()
    {
        // Issue 16: valid JSON padded with spaces compresses ~1000:1 (10 MB held 1,000 MB of spaces: 42 s and +5 GB to load).
        var padded = "{" + new string(' ', 1 << 20) + "\"batchSize\":64}";
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.RecipePart, w => WriteString(w, padded));

        var chain = LoadFailure(model);

        // Refused from the zip entry's declared size, before ML.NET inflates the entry (.NET stops inflating at that size).
        AssertContains($"The model's 'Recipe' part is corrupt: its zip entry declares {padded.Length + 4 + 46} bytes; a 'Recipe' part holds at most 65,582 with its envelope.", chain);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AHistoryBeyondItsLengthIsRefused(bool morphs)
    {
        // Issue 16: 2 M history entries added +0.5 GB to a load.
        var history = morphs
            ? new MorphableImageClassifierModelParameters.StoredHistory([.. Enumerable.Repeat<Morphs.MorphStep>(new Morphs.InsertBatchNormStep("conv1"), 10_001)], null, [])
            : new MorphableImageClassifierModelParameters.StoredHistory([], null,
                [.. Enumerable.Range(1, 10_001).Select(e => new Training.EpochMetrics(e, 1, 0.5, null, null, 0.1, 1, 100))]);
        var model = new SavedModelFile(_saved).Forge(ModelPartsFormat.HistoryPart, w => ModelPartsFormat.WriteJson(w, history));

        var chain = LoadFailure(model);

        AssertContains(morphs
            ? "The model's 'History' part is corrupt: it lists 10,001 morphs; a history holds at most 10,000."
            : "The model's 'History' part is corrupt: it lists 10,001 epochs; a history holds at most 10,000.", chain);
    }

    // Loads a forged model, which must fail, allocating no more than a small model's load does.
    private string LoadFailure(SavedModelFile model)
    {
        const long allocationLimit = 64L << 20;
        var path = model.WriteTo(_dir.File("forged.zip"));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < allocationLimit, $"loading the forged model allocated {allocated >> 20} MB");
        return SavedModelFile.MessageChain(e);
    }

    private static void AssertContains(string expected, string chain) =>
        Assert.True(chain.Contains(expected, StringComparison.Ordinal), $"expected \"{expected}\" in: {chain}");

    // The parts' string encoding: Int32 byte count, then UTF-8.
    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        w.Write(bytes.Length);
        w.Write(bytes);
    }
}
