using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Classifier;

[Collection(nameof(ClassifierCollection))]
public class MorphableClassifierTests(ClassifierFixture fixture)
{
    private MLContext Ml => fixture.Ml;

    [Fact]
    public void TrainedClassifierLearnsTheSyntheticClasses()
    {
        var metrics = Ml.MulticlassClassification.Evaluate(fixture.Parent.Transform(fixture.Test));

        Assert.True(metrics.MacroAccuracy > 0.9, $"accuracy {metrics.MacroAccuracy}");
    }

    [Fact]
    public void ScoreHasClassNamesAsSlotNamesAndPredictedLabelMapsBackToText()
    {
        var scored = fixture.Parent.Transform(fixture.Test);

        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        scored.Schema["Score"].GetSlotNames(ref slotNames);
        Assert.Equal(SyntheticImages.Classes, slotNames.DenseValues().Select(v => v.ToString()));
        var predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        Assert.All(predicted, p => Assert.Contains(p, SyntheticImages.Classes));
    }

    [Fact]
    public void PredictionEngineScoresSingleRows()
    {
        var engine = Ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Prediction>(fixture.Parent);
        var row = SyntheticImages.Vectors(1, seed: 9)[2];

        var prediction = engine.Predict(row);

        Assert.Equal(4, prediction.Score.Length);
        Assert.Equal(1.0, prediction.Score.Sum(), 4);
        Assert.Equal(row.Label, prediction.PredictedLabel);
    }

    [Fact]
    public void CreateEnumerableReadsScoredRows()
    {
        var rows = Ml.Data.CreateEnumerable<Prediction>(fixture.Parent.Transform(fixture.Test), reuseRowObject: false).ToList();

        Assert.Equal(32, rows.Count);
        Assert.All(rows, r => Assert.Equal(4, r.Score.Length));
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }
}
