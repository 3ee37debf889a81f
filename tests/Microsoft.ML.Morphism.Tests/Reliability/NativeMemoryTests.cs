// Training, scoring and morphing leave TorchSharp's live tensor count flat after a warm-up, and the process's RSS bounded.
using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using TorchSharp;
using Xunit.Abstractions;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// TorchSharp counts, per thread, every tensor created minus every tensor disposed
/// (<c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>); a tensor left to the GC is finalized
/// on another thread, so a leak shows as growth on the training or scoring thread. After a warm-up
/// (the module's parameters, the optimizer's state, the scoring module) the count must not move.
/// RSS is checked only loosely (the allocator and the GC keep memory), against gross leaks.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class NativeMemoryTests(ITestOutputHelper output)
{
    private const long RssGrowthLimit = 64L << 20;
    private readonly MLContext _ml = new(seed: 1);

    private static long LiveTensors => DisposeScopeManager.Statistics.ThreadTotalLiveCount;

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        process.Refresh();
        return process.WorkingSet64;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TrainingEpochsLeaveTheLiveTensorCountFlat(bool cacheFeatures)
    {
        var options = SmallModels.Options(epochs: 5);
        options.Threads = 1; // this collection runs alone; one intra-op thread keeps it quick on a busy machine
        options.Architecture = "conv(4,3) bn prelu maxpool(2) dropout(0.2) flatten dense(8) relu";
        options.ShiftPixels = 1;
        options.HorizontalFlip = true;
        options.CacheFeatures = cacheFeatures;
        options.ValidationSet = _ml.Transforms.Conversion.MapValueToKey("Label").Fit(Data(4, seed: 2)).Transform(Data(4, seed: 2));
        var counts = new List<long>();
        var rss = new List<long>();
        options.MetricsCallback = _ =>
        {
            counts.Add(LiveTensors);
            rss.Add(Rss());
        };

        SmallModels.Train(_ml, Data(16, seed: 1), options);

        output.WriteLine($"live tensors after each epoch: {string.Join(", ", counts)}; RSS MB: {string.Join(", ", rss.Select(r => r >> 20))}");
        Assert.Equal(5, counts.Count);
        Assert.All(counts.Skip(1), count => Assert.Equal(counts[0], count));
        Assert.True(rss[^1] - rss[1] < RssGrowthLimit, $"RSS grew by {(rss[^1] - rss[1]) >> 20} MB over epochs 2 to 5");
    }

    [Fact]
    public void ScoringManyRowsLeavesTheLiveTensorCountFlat()
    {
        var options = SmallModels.Options();
        options.Threads = 1;
        var model = SmallModels.Train(_ml, Data(8, seed: 1), options);
        var scored = model.Transform(Data(64, seed: 2));
        ScoreOnThisThread(scored); // warm-up: builds the shared scoring module
        long before = LiveTensors, rssBefore = Rss();

        for (int pass = 0; pass < 20; pass++)
            ScoreOnThisThread(scored);
        var engine = _ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Prediction>(model);
        foreach (var row in SyntheticImages.Vectors(perClass: 250, seed: 4))
            engine.Predict(row);

        long after = LiveTensors, rssAfter = Rss();
        output.WriteLine($"live tensors {before} -> {after} over 6,120 scored rows; RSS {rssBefore >> 20} -> {rssAfter >> 20} MB");
        Assert.Equal(before, after);
        Assert.True(rssAfter - rssBefore < RssGrowthLimit, $"RSS grew by {(rssAfter - rssBefore) >> 20} MB");
    }

    [Fact]
    public void RepeatedMorphAndRefitLeavesTheLiveTensorCountFlat()
    {
        var data = Data(8, seed: 1);
        var options = SmallModels.Options();
        options.Threads = 1;
        var model = SmallModels.Train(_ml, data, options);
        var counts = new List<long>();

        for (int i = 0; i < 4; i++)
        {
            model.Morph(_ml, m => m.Deepen("conv1").Widen("conv1", 6).AddBranch("dense1").AddSkip("input", "relu1").InsertBatchNorm("conv1"),
                new RefitOptions { MaxEpoch = 1, Threads = 1 }).Fit(data);
            counts.Add(LiveTensors);
        }

        output.WriteLine($"live tensors after each morph and refit: {string.Join(", ", counts)}");
        Assert.All(counts.Skip(1), count => Assert.Equal(counts[0], count));
    }

    // One cursor read here: ML.NET's GetColumn may read through worker threads, whose tensors this thread's count would not see.
    private static void ScoreOnThisThread(IDataView scored)
    {
        using var cursor = scored.GetRowCursor([scored.Schema["Score"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        VBuffer<float> scores = default;
        while (cursor.MoveNext())
            getter(ref scores);
    }

    private IDataView Data(int perClass, int seed) => _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass, seed));

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }
}
