// Same seed, data and thread count give bit-identical weights: trainer, every morph and a plan, whatever TorchSharp's global generator does.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using TorchSharp;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// Every random choice (initialisation, shuffling, augmentation, dropout, a morph's new weights, the
/// verifier's inputs) comes from generators the trainer or the morph creates from its seed; nothing
/// reads or seeds TorchSharp's process-wide generator. So runs repeat bit for bit even when the global
/// generator is reseeded and drawn from between them, or when two runs train at the same time. Run
/// alone: the intra-op thread count is process-wide and part of what must be the same.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class DeterminismTests
{
    private const string Architecture = "conv(4,3) bn prelu maxpool(2) dropout(0.25) flatten dense(8) relu";
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;

    public DeterminismTests() => _data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 1));

    [Theory]
    [InlineData(1, true)]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void TrainingRepeatsBitForBit(int threads, bool cacheFeatures)
    {
        var first = Train(seed: 5, threads, cacheFeatures);
        DisturbTheGlobalGenerator();
        var second = Train(seed: 5, threads, cacheFeatures);
        var otherSeed = Train(seed: 6, threads, cacheFeatures);

        AssertBitIdentical(first, second);
        Assert.Contains(first.Keys, key => !first[key].Values.SequenceEqual(otherSeed[key].Values));
    }

    [Fact]
    public void ConcurrentTrainingsRepeatASequentialOne()
    {
        var sequential = Train(seed: 5, threads: 1, cacheFeatures: true);

        var concurrent = new NetworkWeights[2];
        Parallel.For(0, 2, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => concurrent[i] = Train(seed: 5, threads: 1, cacheFeatures: true));

        AssertBitIdentical(sequential, concurrent[0]);
        AssertBitIdentical(sequential, concurrent[1]);
    }

    [Theory]
    [InlineData("deepen(conv1)")]
    [InlineData("deepen(conv1, kernel=3, method=idmorph)")]
    [InlineData("widen(conv1, 6)")]
    [InlineData("kernel(conv1, 5)")]
    [InlineData("branch(conv1, 3)")]
    [InlineData("skip(input, prelu1)")]
    [InlineData("bn(dense1)")]
    [InlineData("deepen(conv1) widen(conv1, 6) kernel(conv1, 5) branch(dense1) skip(input, prelu1) bn(dense1)")]
    public void MorphAndRefitRepeatBitForBit(string plan)
    {
        var parent = SmallModels.Train(_ml, _data, Options(seed: 5, threads: 1, cacheFeatures: true));

        var morphOnly = Morph(parent, plan, refitEpochs: 0);
        var refit = Morph(parent, plan, refitEpochs: 1);
        DisturbTheGlobalGenerator();
        var morphOnlyAgain = Morph(parent, plan, refitEpochs: 0);
        var refitAgain = Morph(parent, plan, refitEpochs: 1);

        AssertBitIdentical(morphOnly, morphOnlyAgain);
        AssertBitIdentical(refit, refitAgain);
    }

    private static MorphableImageClassifierTrainer.Options Options(int seed, int threads, bool cacheFeatures)
    {
        var options = SmallModels.Options(epochs: 2);
        options.Architecture = Architecture;
        options.Seed = seed;
        options.Threads = threads;
        options.CacheFeatures = cacheFeatures;
        options.ShiftPixels = 1;
        options.HorizontalFlip = true;
        return options;
    }

    private NetworkWeights Train(int seed, int threads, bool cacheFeatures) =>
        _ml.Morphism().FindClassifier(SmallModels.Train(_ml, _data, Options(seed, threads, cacheFeatures))).Model.Weights;

    private NetworkWeights Morph(ITransformer parent, string plan, int refitEpochs) =>
        _ml.Morphism().FindClassifier(parent.Morph(_ml, MorphPlan.Parse(plan), new RefitOptions { MaxEpoch = refitEpochs, Threads = 1 }).Fit(_data)).Model.Weights;

    // A library that drew from (or seeded) TorchSharp's global generator would now see other numbers.
    private static void DisturbTheGlobalGenerator()
    {
        torch.random.manual_seed(987654321);
        using var draws = torch.rand(1000);
    }

    private static void AssertBitIdentical(NetworkWeights expected, NetworkWeights actual)
    {
        Assert.Equal(expected.Keys, actual.Keys);
        Assert.All(expected.Keys, key => Assert.True(expected[key].Values.SequenceEqual(actual[key].Values), $"'{key}' differs"));
    }
}
