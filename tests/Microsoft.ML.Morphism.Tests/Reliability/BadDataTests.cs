// The defined behaviour for bad data: non-finite pixels, empty data, one class, wrong image sizes, unseen labels.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// Each kind of bad data has one documented outcome (see the trainer's and the transformer's XML
/// docs): rows with a NaN or infinite pixel are skipped in training with a warning and scored as
/// NaN with a missing PredictedLabel; data without usable rows, a label with one class and images
/// or vectors of the wrong size fail with an exception that says what to fix; the label column is
/// never read when scoring, so unseen labels do not matter.
/// </summary>
public class BadDataTests
{
    private readonly MLContext _ml = new(seed: 1);

    private sealed class VariableRow
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    private sealed class FeaturesOnlyRow
    {
        [VectorType(SyntheticImages.Size * SyntheticImages.Size)]
        public float[] Features { get; set; } = [];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void NonFiniteTrainingRowsAreSkippedWithAWarning(bool cacheFeatures)
    {
        var warnings = new List<string>();
        _ml.Log += (_, e) =>
        {
            if (e.Kind == Runtime.ChannelMessageKind.Warning)
                lock (warnings)
                    warnings.Add(e.Message);
        };
        var rows = SyntheticImages.Vectors(perClass: 4, seed: 1);
        rows[1].Features[5] = float.NaN;
        rows[6].Features[0] = float.PositiveInfinity;
        rows[9].Features[143] = float.NegativeInfinity;

        var options = SmallModels.Options();
        options.CacheFeatures = cacheFeatures;

        var model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(rows), options);

        Assert.Contains(warnings, w => w.Contains("Skipped 3 training row(s) with a missing label or a NaN/infinite feature value", StringComparison.Ordinal));
        var classifier = _ml.Morphism().FindClassifier(model);
        Assert.Equal(rows.Length - 3, classifier.Model.TrainingHistory[^1].Examples);
        Assert.All(classifier.Model.Weights.Keys, key => Assert.True(classifier.Model.Weights[key].IsFinite(), key));
    }

    [Fact]
    public void NonFiniteRowsScoreAsNaNWithAMissingPredictedLabel()
    {
        // tanh maps an infinite pre-activation to ±1: without the check an infinite pixel would score as a finite guess.
        var options = SmallModels.Options();
        options.Architecture = "conv(4,3) tanh maxpool(2) flatten";
        var train = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 4, seed: 1));
        var classifier = _ml.Morphism().FindClassifier(SmallModels.Train(_ml, train, options));
        var rows = SyntheticImages.Vectors(perClass: 2, seed: 2).Select(r => new FeaturesOnlyRow { Features = r.Features }).ToArray();
        var clean = Score(classifier, rows);
        rows[1].Features[7] = float.NaN;
        rows[2].Features[70] = float.PositiveInfinity;
        rows[3].Features[0] = float.NegativeInfinity;

        var damaged = Score(classifier, rows);

        foreach (int row in new[] { 1, 2, 3 })
        {
            Assert.All(damaged.Scores[row], s => Assert.True(float.IsNaN(s)));
            Assert.Equal(0u, damaged.Keys[row]);
        }
        foreach (int row in new[] { 0, 4, 5, 6, 7 })
        {
            Assert.Equal(clean.Scores[row], damaged.Scores[row]);
            Assert.Equal(clean.Keys[row], damaged.Keys[row]);
            Assert.InRange(damaged.Keys[row], 1u, 4u);
        }
    }

    [Fact]
    public void TrainingOnNoRowsIsRejected()
    {
        var keys = _ml.Transforms.Conversion.MapValueToKey("Label").Fit(_ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(1, seed: 1)));
        var keyed = keys.Transform(_ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 1, seed: 1).Take(0)));

        var e = Assert.Throws<ArgumentException>(() => _ml.MulticlassClassification.Trainers.MorphableImageClassifier(SmallModels.Options()).Fit(keyed));

        Assert.Contains("The training data has no rows", e.Message);
    }

    [Fact]
    public void RefitOnNoRowsIsRejected()
    {
        var model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1)));
        var empty = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 1, seed: 1).Take(0));

        var e = Assert.Throws<ArgumentException>(() => model.Morph(_ml, m => m.Widen("conv1", 6), new RefitOptions { MaxEpoch = 1 }).Fit(empty));

        Assert.Contains("The training data has no rows", e.Message);
    }

    [Fact]
    public void TrainingOnNoRowsSaysNoRowsNotOneClass()
    {
        // Issue 16: MapValueToKey over no rows makes a key of one class, and training said "has 1 class".
        var empty = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 1, seed: 1).Take(0));

        var e = Assert.Throws<ArgumentException>(() => SmallModels.Train(_ml, empty));

        Assert.StartsWith("The training data has no rows (label column 'Label' therefore has", e.Message);
    }

    [Fact]
    public void ScoringNoRowsGivesNoRows()
    {
        var model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1)));

        var scored = model.Transform(_ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 1, seed: 1).Take(0)));

        Assert.Empty(ScoresOf(scored));
    }

    [Fact]
    public void TrainingOnOnlyUnusableRowsIsRejected()
    {
        var rows = SyntheticImages.Vectors(perClass: 1, seed: 1);
        foreach (var row in rows)
            row.Features[0] = float.NaN;

        var e = Assert.Throws<ArgumentException>(() => SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(rows)));

        Assert.Contains("The training data has no usable rows: all 4 have a missing label or a non-finite feature value", e.Message);
    }

    [Fact]
    public void LabelWithASingleClassIsRejected()
    {
        var rows = SyntheticImages.Vectors(perClass: 2, seed: 1);
        foreach (var row in rows)
            row.Label = "circle";

        var e = Assert.ThrowsAny<ArgumentException>(() => SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(rows)));

        Assert.Contains("Label column 'Label' has 1 class; a classifier needs 2 to 1,000,000", e.Message);
    }

    [Fact]
    public void SizedImageColumnOfTheWrongSizeIsRejectedWhenScoring()
    {
        using var dir = new TempDirectory();
        var (classifier, _) = TrainOnImageFiles(dir);
        var big = _ml.Data.LoadFromEnumerable(SyntheticImages.Files(dir.Path, perClass: 1, seed: 5, size: 20));
        var images = _ml.Transforms.LoadImages("Image", null, "ImagePath").Append(_ml.Transforms.ResizeImages("Image", 20, 20)).Fit(big).Transform(big);

        var e = Assert.ThrowsAny<ArgumentException>(() => classifier.Transform(images));

        Assert.Contains("Feature column 'Image' holds 20×20 images but the network takes 12×12; add ResizeImages", e.Message);
    }

    [Fact]
    public void UnsizedImageOfTheWrongSizeIsRejectedAtItsRow()
    {
        using var dir = new TempDirectory();
        var (classifier, loadImages) = TrainOnImageFiles(dir);
        var rows = SyntheticImages.Files(dir.Path, perClass: 1, seed: 6, size: 12).ToList();
        rows.Add(SyntheticImages.Files(dir.Path, perClass: 1, seed: 7, size: 20)[0]);
        var data = loadImages.Transform(_ml.Data.LoadFromEnumerable(rows));

        var e = Assert.ThrowsAny<InvalidOperationException>(() => classifier.Transform(data).GetColumn<float[]>("Score").ToArray());

        // ML.NET's parallel cursors wrap a row's exception ("Splitter/consolidator worker encountered exception ...").
        Assert.Contains("image of 20×20 in column 'Image'", SavedModelFile.MessageChain(e));
        Assert.Contains("but the network takes 12×12; add ResizeImages", SavedModelFile.MessageChain(e));
    }

    [Fact]
    public void UnsizedImageOfTheWrongSizeIsRejectedInTraining()
    {
        using var dir = new TempDirectory();
        var rows = SyntheticImages.Files(dir.Path, perClass: 2, seed: 8, size: 20);
        var options = SmallModels.Options();
        options.FeatureColumnName = "Image";
        var pipeline = _ml.Transforms.LoadImages("Image", null, "ImagePath")
            .Append(_ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(_ml.MulticlassClassification.Trainers.MorphableImageClassifier(options));

        var e = Assert.Throws<InvalidOperationException>(() => pipeline.Fit(_ml.Data.LoadFromEnumerable(rows)));

        Assert.Contains("Row 0: image of 20×20 in column 'Image'", e.Message);
        Assert.Contains("but the network takes 12×12; add ResizeImages", e.Message);
    }

    [Fact]
    public void SizedVectorColumnOfTheWrongLengthIsRejectedWhenScoring()
    {
        var classifier = _ml.Morphism().FindClassifier(SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1))));
        var rows = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(1, seed: 2));
        var wrong = _ml.Transforms.Concatenate("Features", "Features", "Features").Fit(rows).Transform(rows);

        var e = Assert.ThrowsAny<ArgumentException>(() => classifier.Transform(wrong));

        Assert.Contains("Feature column 'Features' holds 288 values per row but the network takes 1×12×12 = 144", e.Message);
    }

    [Fact]
    public void VariableLengthVectorOfTheWrongLengthIsRejectedAtItsRow()
    {
        var classifier = _ml.Morphism().FindClassifier(SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1))));
        var rows = SyntheticImages.Vectors(1, seed: 2).Select(r => new VariableRow { Features = r.Features, Label = r.Label }).ToList();
        rows[2].Features = [.. rows[2].Features.Take(100)];

        var e = Assert.ThrowsAny<InvalidOperationException>(() => classifier.Transform(_ml.Data.LoadFromEnumerable(rows)).GetColumn<float[]>("Score").ToArray());

        Assert.Contains("Row 2: feature column 'Features' holds 100 values but the network takes 144", SavedModelFile.MessageChain(e));
    }

    [Fact]
    public void LabelsUnseenInTrainingDoNotAffectScoring()
    {
        var model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1)));
        var rows = SyntheticImages.Vectors(2, seed: 2);
        var expected = SmallModels.Scores(model, _ml.Data.LoadFromEnumerable(rows));
        foreach (var row in rows)
            row.Label = "unicorn";

        var scored = model.Transform(_ml.Data.LoadFromEnumerable(rows));

        Assert.Equal(expected, ScoresOf(scored));
        Assert.All(scored.GetColumn<string>("PredictedLabel"), p => Assert.Contains(p, SyntheticImages.Classes));
    }

    [Fact]
    public void ScoringNeedsNoLabelColumn()
    {
        var model = SmallModels.Train(_ml, _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(4, seed: 1)));
        var classifier = _ml.Morphism().FindClassifier(model);
        var rows = SyntheticImages.Vectors(2, seed: 2);
        var expected = ScoresOf(classifier.Transform(_ml.Transforms.Conversion.MapValueToKey("Label").Fit(_ml.Data.LoadFromEnumerable(rows)).Transform(_ml.Data.LoadFromEnumerable(rows))));

        var scored = classifier.Transform(_ml.Data.LoadFromEnumerable(rows.Select(r => new FeaturesOnlyRow { Features = r.Features })));

        Assert.Equal(expected, ScoresOf(scored));
    }

    private (MorphableImageClassifierTransformer Classifier, ITransformer LoadImages) TrainOnImageFiles(TempDirectory dir)
    {
        var data = _ml.Data.LoadFromEnumerable(SyntheticImages.Files(dir.Path, perClass: 2, seed: 4, size: 12));
        var loadImages = _ml.Transforms.LoadImages("Image", null, "ImagePath").Fit(data);
        var options = SmallModels.Options();
        options.FeatureColumnName = "Image";
        var keyed = _ml.Transforms.Conversion.MapValueToKey("Label").Fit(data);
        var images = keyed.Transform(loadImages.Transform(data));
        var classifier = _ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)
            .Fit(_ml.Transforms.ResizeImages("Image", 12, 12).Fit(images).Transform(images));
        return (classifier, loadImages);
    }

    private static (float[][] Scores, uint[] Keys) Score(MorphableImageClassifierTransformer classifier, FeaturesOnlyRow[] rows)
    {
        var ml = new MLContext(seed: 1);
        var scored = classifier.Transform(ml.Data.LoadFromEnumerable(rows));
        return (scored.GetColumn<float[]>("Score").ToArray(), scored.GetColumn<uint>("PredictedLabel").ToArray());
    }

    private static float[] ScoresOf(IDataView scored) => [.. scored.GetColumn<float[]>("Score").SelectMany(s => s)];
}
