// A CancellationToken stops training and refits promptly (also while the data is decoded) and leaves no file behind.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// The token is checked before every training batch (see the engine's NetworkTrainerTests) and at
/// least every 1,024 rows while the data is decoded or counted; a cancelled refit inside
/// <c>UpgradeModel</c> never starts writing, so neither the output nor a temp file appears.
/// </summary>
public class CancellationTests
{
    private const int ReadCheckInterval = 1024;
    private readonly MLContext _ml = new(seed: 1);

    private sealed class RawRow
    {
        [VectorType(SyntheticImages.Size * SyntheticImages.Size)]
        public float[] Raw { get; set; } = [];

        public string Label { get; set; } = "";
    }

    private sealed class FeaturesRow
    {
        [VectorType(SyntheticImages.Size * SyntheticImages.Size)]
        public float[] Features { get; set; } = [];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CancellingWhileTheDataIsReadStopsReading(bool cacheFeatures)
    {
        using var cancel = new CancellationTokenSource();
        int rowsRead = 0;
        const int cancelAt = 100;
        var rows = SyntheticImages.Vectors(perClass: 1500, seed: 1).Select(r => new RawRow { Raw = r.Features, Label = r.Label });
        var counting = _ml.Transforms.CustomMapping<RawRow, FeaturesRow>((input, output) =>
        {
            output.Features = input.Raw;
            if (Interlocked.Increment(ref rowsRead) == cancelAt)
                cancel.Cancel();
        }, contractName: null);
        var options = SmallModels.Options();
        options.CacheFeatures = cacheFeatures;
        options.CancellationToken = cancel.Token;
        var pipeline = counting.Append(_ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(_ml.MulticlassClassification.Trainers.MorphableImageClassifier(options));

        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)));

        Assert.InRange(rowsRead, cancelAt, cancelAt + ReadCheckInterval);
    }

    [Fact]
    public void CancelledUpgradeLeavesNoOutputAndNoTempFile()
    {
        using var dir = new TempDirectory();
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 1));
        var input = dir.File("input.zip");
        var inputBytes = SmallModels.Save(_ml, SmallModels.Train(_ml, data), data.Schema, input);
        using var cancel = new CancellationTokenSource();
        var epochs = new List<int>();
        var refit = new RefitOptions
        {
            MaxEpoch = 50,
            CancellationToken = cancel.Token,
            MetricsCallback = m =>
            {
                epochs.Add(m.Epoch);
                if (m.Epoch == 1)
                    cancel.Cancel();
            },
        };

        Assert.ThrowsAny<OperationCanceledException>(() =>
            _ml.Morphism().UpgradeModel(input, dir.File("output.zip"), new MorphPlan().Deepen("conv1").Widen("conv1", 6), data, refit));

        Assert.Equal([1], epochs); // no validation set, so no epoch 0 row for the morphed weights
        Assert.Equal(["input.zip"], Directory.GetFiles(dir.Path).Select(Path.GetFileName));
        Assert.Equal(inputBytes, File.ReadAllBytes(input));
    }

    [Fact]
    public void CancelledUpgradeLeavesThePreviousOutputAsItWas()
    {
        using var dir = new TempDirectory();
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 1));
        var model = SmallModels.Train(_ml, data);
        var input = dir.File("input.zip");
        SmallModels.Save(_ml, model, data.Schema, input);
        var previous = SmallModels.Save(_ml, model, data.Schema, dir.File("output.zip"));
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() => _ml.Morphism().UpgradeModel(input, dir.File("output.zip"), new MorphPlan().Widen("conv1", 6), data,
            new RefitOptions { MaxEpoch = 3, CancellationToken = cancel.Token }));

        Assert.Equal(previous, File.ReadAllBytes(dir.File("output.zip")));
        Assert.Equal(["input.zip", "output.zip"], Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void CancellingARefitStopsTheMorphEstimator()
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 1));
        var parent = SmallModels.Train(_ml, data);
        using var cancel = new CancellationTokenSource();
        var epochs = new List<int>();
        var grow = parent.Morph(_ml, m => m.AddBranch("conv1", 3), new RefitOptions
        {
            MaxEpoch = 50,
            ValidationSet = data,
            CancellationToken = cancel.Token,
            MetricsCallback = m =>
            {
                epochs.Add(m.Epoch);
                if (m.Epoch == 1)
                    cancel.Cancel();
            },
        });

        Assert.ThrowsAny<OperationCanceledException>(() => grow.Fit(data));

        Assert.Equal([0, 1], epochs);
    }
}
