// A fitted classifier scores the same from several threads at once as from one: separate cursors and one PredictionEngine per thread.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// The transformer shares one TorchSharp module between its cursors (forward passes do not change
/// it) and keeps every per-row buffer in the cursor, so concurrent scoring must give bit-identical
/// results to single-threaded scoring. Run alone (bit-identical scores need a fixed intra-op thread count).
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class ConcurrentScoringTests
{
    private const int Threads = 4;
    private const int Passes = 3;

    private readonly MLContext _ml = new(seed: 1);
    private readonly ITransformer _model;
    private readonly SyntheticImages.VectorRow[] _rows = SyntheticImages.Vectors(perClass: 16, seed: 2);
    private readonly IDataView _data;

    public ConcurrentScoringTests()
    {
        _model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 1)));
        _data = _ml.Data.LoadFromEnumerable(_rows);
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }

    [Fact]
    public void SeparateCursorsOnSeveralThreadsScoreLikeOneThread()
    {
        var scored = _model.Transform(_data);
        var expected = ReadAll(scored);

        var results = OnThreads(() => ReadAll(scored));

        Assert.All(results, result => AssertSame(expected, result));
    }

    [Fact]
    public void MLNetsParallelCursorSetScoresLikeOneCursor()
    {
        var scored = _model.Transform(_data);
        var expected = ReadAll(scored);
        var columns = new[] { scored.Schema["Score"], scored.Schema["PredictedLabel"] };

        var cursors = scored.GetRowCursorSet(columns, Threads);
        Assert.True(cursors.Length > 1, $"ML.NET gave {cursors.Length} cursor(s)");
        var parts = new List<(long Position, float[] Score, string Label)>[cursors.Length];
        Parallel.For(0, cursors.Length, new ParallelOptions { MaxDegreeOfParallelism = cursors.Length }, i =>
        {
            using var cursor = cursors[i];
            parts[i] = [.. Read(cursor)];
        });

        var actual = parts.SelectMany(p => p).OrderBy(r => r.Position).ToList();
        Assert.Equal(expected.Count, actual.Count);
        AssertSame(expected, actual);
    }

    [Fact]
    public void OnePredictionEnginePerThreadPredictsLikeOneThread()
    {
        var single = _ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Prediction>(_model);
        var expected = _rows.Select((row, i) => { var p = single.Predict(row); return ((long)i, p.Score, p.PredictedLabel); }).ToList();

        var results = OnThreads(() =>
        {
            var engine = _ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Prediction>(_model);
            return _rows.Select((row, i) => { var p = engine.Predict(row); return ((long)i, p.Score, p.PredictedLabel); }).ToList();
        });

        Assert.All(results, result => AssertSame(expected, result));
    }

    // Runs `score` Passes times on each of Threads threads released together; returns every result.
    private static List<List<(long, float[], string)>> OnThreads(Func<List<(long, float[], string)>> score)
    {
        using var start = new Barrier(Threads);
        var results = new List<(long, float[], string)>[Threads * Passes];
        var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int pass = 0; pass < Passes; pass++)
                results[t * Passes + pass] = score();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return [.. results];
    }

    private static List<(long, float[], string)> ReadAll(IDataView scored)
    {
        using var cursor = scored.GetRowCursor([scored.Schema["Score"], scored.Schema["PredictedLabel"]]);
        return [.. Read(cursor)];
    }

    private static IEnumerable<(long Position, float[] Score, string Label)> Read(DataViewRowCursor cursor)
    {
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        var label = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["PredictedLabel"]);
        VBuffer<float> scores = default;
        ReadOnlyMemory<char> predicted = default;
        while (cursor.MoveNext())
        {
            score(ref scores);
            label(ref predicted);
            yield return (cursor.Position, scores.DenseValues().ToArray(), predicted.ToString());
        }
    }

    private static void AssertSame(List<(long Position, float[] Score, string Label)> expected, List<(long Position, float[] Score, string Label)> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Position, actual[i].Position);
            Assert.Equal(expected[i].Score, actual[i].Score);
            Assert.Equal(expected[i].Label, actual[i].Label);
        }
    }
}
