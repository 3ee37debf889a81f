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
    public void MorphOnlyChildScoresEqualTheParentsOnEveryRow()
    {
        var grow = fixture.Parent.Morph(Ml, m => m.Deepen(after: "conv2").Widen("conv1", 10).EnlargeKernel("conv2", 5).AddBranch("conv1", 3),
            new RefitOptions { MaxEpoch = 0 });

        var child = grow.Fit(fixture.Train);

        var parentScores = ClassifierFixture.Scores(fixture.Parent, fixture.Test);
        var childScores = ClassifierFixture.Scores(child, fixture.Test);
        double maxDiff = ClassifierFixture.MaxScoreDifference(parentScores, childScores);
        Assert.True(maxDiff <= 1e-4, $"max score difference {maxDiff}");
        var classifier = Ml.Morphism().FindClassifier(child);
        Assert.Equal(4, classifier.MorphHistory.Count);
        Assert.NotNull(classifier.LastMorphReport);
        Assert.True(classifier.LastMorphReport!.MaxRelError <= 1e-4);
        Assert.True(classifier.Network.ParameterCount > Ml.Morphism().FindClassifier(fixture.Parent).Network.ParameterCount);
    }

    [Fact]
    public void RefitLowersTheTrainingLossFromTheMorphedStart()
    {
        var epochs = new List<Training.EpochMetrics>();
        var grow = fixture.Parent.Morph(Ml, m => m.Deepen(after: "conv2"),
            new RefitOptions { MaxEpoch = 3, LearningRate = 0.02, MetricsCallback = epochs.Add, ValidationSet = fixture.Test });

        var child = grow.Fit(fixture.Train);

        Assert.Equal([0, 1, 2, 3], epochs.Select(e => e.Epoch));
        Assert.True(epochs[^1].TrainLoss < epochs[1].TrainLoss, string.Join(", ", epochs.Select(e => e.TrainLoss)));
        var metrics = Ml.MulticlassClassification.Evaluate(child.Transform(fixture.Test));
        Assert.True(metrics.MacroAccuracy > 0.9);
    }

    [Fact]
    public void ParentIsNotModifiedByMorphAndRefit()
    {
        var before = ClassifierFixture.Scores(fixture.Parent, fixture.Test);
        var text = Ml.Morphism().FindClassifier(fixture.Parent).Network.ToString();

        fixture.Parent.Morph(Ml, m => m.Widen("conv2", 12), new RefitOptions { MaxEpoch = 1 }).Fit(fixture.Train);

        Assert.Equal(text, Ml.Morphism().FindClassifier(fixture.Parent).Network.ToString());
        Assert.Equal(before, ClassifierFixture.Scores(fixture.Parent, fixture.Test));
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
