// Specific kinds of damage to a saved model, each checked in-process for the exact error a user sees.
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// Damaged parts fail with an <see cref="InvalidDataException"/> naming the part. Through
/// <c>ml.Model.Load</c> it arrives wrapped by ML.NET (TargetInvocationException: ML.NET builds every
/// transformer by reflection), so the part is named in the exception chain; the library's own
/// entry points (<c>UpgradeModel</c>) unwrap it.
/// </summary>
public class DamagedModelTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;
    private readonly byte[] _saved;

    public DamagedModelTests()
    {
        _data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 4, seed: 1));
        _saved = SmallModels.Save(_ml, SmallModels.Train(_ml, _data), _data.Schema, _dir.File("model.zip"));
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void DamagedCompressedBytesOfAPartNameThePart()
    {
        var bytes = (byte[])_saved.Clone();
        var weights = ZipLayout.Read(bytes).Entries.Single(e => ModelMutations.PartOf(e.Name) == ModelPartsFormat.WeightsPart);
        bytes[weights.DataStart] |= 0b110; // deflate block type 3 is reserved: the zip layer cannot inflate the entry
        var path = _dir.File("damaged.zip");
        File.WriteAllBytes(path, bytes);

        var e = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));

        Assert.Contains("The model's 'Weights' part is corrupt: its zip entry cannot be read", SavedModelFile.MessageChain(e));
    }

    [Fact]
    public void UpgradeModelReportsTheDamagedPartRatherThanAReflectionWrapper()
    {
        var path = new SavedModelFile(_saved).DamagePart(ModelPartsFormat.WeightsPart, b =>
        {
            b[b.Length / 2] ^= 0x10;
            return b;
        }).WriteTo(_dir.File("damaged.zip"));

        var e = Assert.Throws<InvalidDataException>(() => _ml.Morphism().UpgradeModel(path, _dir.File("out.zip"), new MorphPlan().Widen("conv1", 6)));

        Assert.Contains("is not a valid ML.NET model or is damaged: The model's 'Weights' part is corrupt: its checksum does not match its contents", e.Message);
        Assert.False(File.Exists(_dir.File("out.zip")));
    }

    [Fact]
    public void LoadModelReportsTheDamagedPartRatherThanAReflectionWrapper()
    {
        var path = new SavedModelFile(_saved).DamagePart(ModelPartsFormat.RecipePart, b =>
        {
            b[^1] ^= 0x01;
            return b;
        }).WriteTo(_dir.File("damaged.zip"));

        var e = Assert.Throws<InvalidDataException>(() => _ml.Morphism().LoadModel(path, out _));

        Assert.StartsWith($"'{path}' is not a valid ML.NET model or is damaged: The model's 'Recipe' part is corrupt", e.Message);
    }

    [Fact]
    public void TheDeepestNestingTheTextAllowsTrainsSavesThroughMlNetAndLoads()
    {
        // Issue 16: 21 or more nested parallel blocks trained, then ml.Model.Save threw JsonException ("possible object cycle").
        var nested = string.Concat(Enumerable.Repeat("parallel(", Networks.NetworkText.MaxDepth)) + "relu | relu"
            + string.Concat(Enumerable.Repeat(" | relu)", Networks.NetworkText.MaxDepth));
        var options = SmallModels.Options();
        options.Architecture = "conv(4,3) " + nested + " maxpool(2) flatten";
        var model = SmallModels.Train(_ml, _data, options);
        var path = _dir.File("deep.zip");

        _ml.Model.Save(model, _data.Schema, path);
        var loaded = _ml.Model.Load(path, out _);

        Assert.Equal(SmallModels.Scores(model, _data), SmallModels.Scores(loaded, _data));
    }

    [Fact]
    public void LoadModelNamesAMissingFileAndLoadsAnIntactOne()
    {
        var missing = _dir.File("missing.zip");

        var e = Assert.Throws<FileNotFoundException>(() => _ml.Morphism().LoadModel(missing, out _));
        var model = _ml.Morphism().LoadModel(_dir.File("model.zip"), out var schema);

        Assert.Equal($"Model file '{missing}' not found.", e.Message);
        Assert.Equal(_data.Schema.Select(c => c.Name), schema.Select(c => c.Name));
        Assert.Equal(SmallModels.Scores(_ml.Model.Load(_dir.File("model.zip"), out _), _data), SmallModels.Scores(model, _data));
    }

    [Fact]
    public void ColumnHeaderThatDisagreesWithTheNetworkIsRejected()
    {
        // The classifier's own header (after ML.NET's string ids): feature kind 0 = vector, its size 144, 0.
        var file = new SavedModelFile(_saved);
        var header = file.EntryOf(ModelPartsFormat.WeightsPart).Replace("Weights", "Model.key", StringComparison.Ordinal);
        byte[] stored = [0, .. BitConverter.GetBytes(144), .. BitConverter.GetBytes(0)];
        var content = ModelMutations.ReadEntry(_saved, header);
        int at = content.AsSpan().IndexOf(stored);
        Assert.True(at > 0 && content.AsSpan(at + 1).IndexOf(stored) < 0, "the header's feature size is found exactly once");
        BitConverter.GetBytes(7).CopyTo(content, at + 1);
        var path = _dir.File("damaged.zip");
        File.WriteAllBytes(path, ModelMutations.ReplaceEntry(_saved, header, content));

        var e = Assert.ThrowsAny<Exception>(() => _ml.Model.Load(path, out _));

        Assert.Contains("The classifier's column header is corrupt: it declares a vector of 7 values but the network takes 1×12×12",
            SavedModelFile.MessageChain(e));
    }
}
