using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Scoring;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Classifier;

/// <summary>
/// Transform scores batches of rows read ahead: the same schema, rows, order, positions and values (within
/// <see cref="Bound"/>) as ML.NET's row-by-row mapping and the PredictionEngine.
/// </summary>
[Collection(nameof(ClassifierCollection))]
public class BatchedScoringTests(ClassifierFixture fixture)
{
    /// <summary>Largest difference allowed between a batched and a one-row forward pass's probabilities.</summary>
    private const float Bound = 1e-5f;

    public sealed class Output
    {
        public string PredictedLabel { get; set; } = "";

        public float[] Score { get; set; } = [];
    }

    public sealed class NumberedRow
    {
        [VectorType(1 * 12 * 12)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";

        public int Id { get; set; }
    }

    private MLContext Ml => fixture.Ml;

    private MorphableImageClassifierTransformer Classifier => Ml.Morphism().FindClassifier(fixture.Parent);

    [Fact]
    public void TransformIsBatchedAndScoresEqualThePredictionEngineRowByRow()
    {
        // Two full batches and a part, with a row of missing pixels inside the second.
        var rows = SyntheticImages.Vectors(perClass: 80, seed: 11);
        Assert.True(rows.Length > 2 * BatchedScoringView.BatchSize);
        rows[200].Features[7] = float.NaN;
        var data = Ml.Data.LoadFromEnumerable(rows);

        var scored = fixture.Parent.Transform(data);
        var batched = Ml.Data.CreateEnumerable<Output>(scored, reuseRowObject: false).ToArray();
        using var engine = Ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Output>(fixture.Parent);
        var single = rows.Select(r => engine.Predict(r)).ToArray();

        // The pipeline's chain calls the classifier through ITransformer: MapKeyToValue reads the batched view.
        Assert.IsType<BatchedScoringView>(scored.GetType().GetProperty("Source")!.GetValue(scored));
        Assert.Equal(rows.Length, batched.Length);
        for (int i = 0; i < rows.Length; i++)
        {
            if (i == 200)
            {
                Assert.All(batched[i].Score, s => Assert.True(float.IsNaN(s)));
                Assert.Equal(single[i].PredictedLabel, batched[i].PredictedLabel);
                continue;
            }
            Assert.Equal(single[i].PredictedLabel, batched[i].PredictedLabel);
            Assert.True(single[i].Score.Zip(batched[i].Score).All(p => Math.Abs(p.First - p.Second) <= Bound),
                $"Row {i}: batched {string.Join(", ", batched[i].Score)} vs one row {string.Join(", ", single[i].Score)}");
        }
    }

    [Fact]
    public void CursorKeepsTheRowByRowSchemaOrderPositionsAndUpstreamFilters()
    {
        var rows = SyntheticImages.Vectors(perClass: 90, seed: 12)
            .Select((r, i) => new NumberedRow { Features = r.Features, Label = r.Label, Id = i }).ToArray();
        var data = Ml.Data.LoadFromEnumerable(rows);
        // Upstream filters: every third row dropped, then the first five skipped.
        var kept = Ml.Data.SkipRows(Ml.Data.FilterByCustomPredicate<NumberedRow>(data, r => r.Id % 3 == 0), 5);
        var filtered = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(kept).Transform(kept);

        var batched = Classifier.Transform(filtered);
        var rowByRow = ((RowToRowTransformerBase)Classifier).Transform(filtered);

        Assert.IsType<BatchedScoringView>(batched);
        Assert.Equal(rowByRow.Schema.Select(c => (c.Name, c.Type, c.IsHidden)), batched.Schema.Select(c => (c.Name, c.Type, c.IsHidden)));
        var expected = Read(rowByRow, rowByRow.Schema);
        var actual = Read(batched, batched.Schema);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(rows.Count(r => r.Id % 3 != 0) - 5, expected.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Position, actual[i].Position);
            Assert.Equal(expected[i].Id, actual[i].Id);
            Assert.Equal(expected[i].Predicted, actual[i].Predicted);
            Assert.Equal(expected[i].Features, actual[i].Features);
            Assert.True(expected[i].Score.Zip(actual[i].Score).All(p => Math.Abs(p.First - p.Second) <= Bound), $"Row {i}");
        }
        Assert.All(actual, r => Assert.True(r.Id % 3 != 0));
    }

    [Fact]
    public void EveryColumnSubsetReadsTheSameValues()
    {
        var data = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(fixture.Test).Transform(fixture.Test);
        var batched = Classifier.Transform(data);
        var rowByRow = ((RowToRowTransformerBase)Classifier).Transform(data);

        // Only the predicted label; only the passed-on label (nothing to score); the slot-named feature copy alone.
        Assert.Equal(rowByRow.GetColumn<uint>("PredictedLabel"), batched.GetColumn<uint>("PredictedLabel"));
        Assert.Equal(rowByRow.GetColumn<uint>("Label"), batched.GetColumn<uint>("Label"));
        Assert.Equal(rowByRow.GetColumn<float[]>("Features").SelectMany(f => f), batched.GetColumn<float[]>("Features").SelectMany(f => f));

        using var cursor = batched.GetRowCursor([batched.Schema["Score"]]);
        Assert.True(cursor.IsColumnActive(batched.Schema["Score"]));
        Assert.False(cursor.IsColumnActive(batched.Schema["PredictedLabel"]));
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<uint>(batched.Schema["PredictedLabel"]));
        Assert.Throws<InvalidOperationException>(() => cursor.GetGetter<uint>(batched.Schema["Score"]));

        // One cursor however many are asked for: the batch is the parallelism.
        Assert.Single(batched.GetRowCursorSet(batched.Schema, 4));
    }

    [Fact]
    public void EvaluationOfABatchedTransformMatchesRowByRow()
    {
        var data = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(fixture.Test).Transform(fixture.Test);
        var batched = Ml.MulticlassClassification.Evaluate(Classifier.Transform(data));
        var rowByRow = Ml.MulticlassClassification.Evaluate(((RowToRowTransformerBase)Classifier).Transform(data));

        Assert.Equal(rowByRow.MicroAccuracy, batched.MicroAccuracy);
        Assert.Equal(rowByRow.LogLoss, batched.LogLoss, 1e-4);
    }

    private static List<(long Position, int Id, uint Predicted, float[] Score, float[] Features)> Read(IDataView view, DataViewSchema schema)
    {
        var result = new List<(long, int, uint, float[], float[])>();
        using var cursor = view.GetRowCursor(schema);
        var id = cursor.GetGetter<int>(schema["Id"]);
        var predicted = cursor.GetGetter<uint>(schema["PredictedLabel"]);
        var score = cursor.GetGetter<VBuffer<float>>(schema["Score"]);
        var features = cursor.GetGetter<VBuffer<float>>(schema["Features"]);
        while (cursor.MoveNext())
        {
            int i = 0;
            uint p = 0;
            VBuffer<float> s = default, f = default;
            id(ref i);
            predicted(ref p);
            score(ref s);
            features(ref f);
            result.Add((cursor.Position, i, p, s.DenseValues().ToArray(), f.DenseValues().ToArray()));
        }
        return result;
    }
}
