// The growth-search trainer and ml.Morphism().Grow through ML.NET: pipelines, lineage in saved models, determinism, bad input.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Tests.Reliability;

namespace Microsoft.ML.Morphism.Tests.Classifier;

[Collection(nameof(ProcessWideStateCollection))]
public class GrowingClassifierTests
{
    private static GrowingImageClassifierTrainer.Options Options(int seed = 3) => new()
    {
        ImageHeight = SyntheticImages.Size,
        ImageWidth = SyntheticImages.Size,
        Architecture = SmallModels.Architecture,
        BatchSize = 8,
        InitialEpochs = 1,
        ChildrenPerRound = 2,
        MaxTrials = 4,
        FinalEpochs = 1,
        ValidationSetFraction = 0.25,
        Seed = seed,
    };

    private static ITransformer Grow(MLContext ml, IDataView data, GrowingImageClassifierTrainer.Options options) =>
        ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.GrowingImageClassifier(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);

    [Fact]
    public void TheTrainerGrowsAClassifierWhoseLineageSurvivesSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 12, seed: 5));
        var trials = new List<TrialRecord>();
        var options = Options();
        options.TrialCallback = trials.Add;
        var model = Grow(ml, data, options);

        var classifier = ml.Morphism().FindClassifier(model);
        var lineage = classifier.Model.Lineage;
        Assert.NotNull(lineage);
        Assert.Equal(trials, lineage!.Trials);
        Assert.Equal(4, lineage.Trials.Count(t => t.Kind == TrialKind.Child));
        Assert.Equal(classifier.Network.ToString(), lineage.Trials[^1].Network);
        Assert.Equal(lineage.IncumbentPath.Where(t => t.Kind == TrialKind.Child).Sum(t => MorphCount(t.Plan)), classifier.MorphHistory.Count);

        using var dir = new TempDirectory();
        var path = dir.File("grown.zip");
        ml.Morphism().SaveModel(model, data.Schema, path);
        var loaded = ml.Model.Load(path, out _);
        var reloaded = ml.Morphism().FindClassifier(loaded);
        Assert.Equal(lineage.Trials, reloaded.Model.Lineage!.Trials);
        Assert.Equal(lineage.ToTree(), reloaded.Model.Lineage.ToTree());
        Assert.Equal(SmallModels.Scores(model, data), SmallModels.Scores(loaded, data));

        // The result is an ordinary morphable classifier: .Morph() works on it.
        var widened = loaded.Morph(ml, m => m.Widen("conv1", 12), new RefitOptions { MaxEpoch = 0 }).Fit(data);
        Assert.Equal(12, ((Networks.Conv2dLayer)ml.Morphism().FindClassifier(widened).Network["conv1"]).OutChannels);
    }

    private static int MorphCount(string plan) => Morphs.MorphPlan.Parse(plan).Steps.Count;

    [Fact]
    public void TheSameSeedGrowsTheSameModel()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 6));
        var first = Grow(ml, data, Options());
        var second = Grow(ml, data, Options());
        Assert.Equal(SmallModels.Scores(first, data), SmallModels.Scores(second, data));
        Assert.Equal(ml.Morphism().FindClassifier(first).Network.ToString(), ml.Morphism().FindClassifier(second).Network.ToString());
    }

    [Fact]
    public void GrowStartsFromASavedModelAndKeepsItsHistory()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 10, seed: 7));
        var parent = SmallModels.Train(ml, data);
        using var dir = new TempDirectory();
        var path = dir.File("parent.zip");
        ml.Morphism().SaveModel(parent, data.Schema, path);

        var options = Options();
        options.InitialEpochs = null; // Grow's default: the model is trained already
        var grown = ml.Morphism().Grow(path, data, options);

        var before = ml.Morphism().FindClassifier(parent);
        var after = ml.Morphism().FindClassifier(grown);
        var lineage = after.Model.Lineage!;
        Assert.Equal(0, lineage.Trials[0].Epochs); // the start was measured, not trained
        Assert.Equal(before.Network.ToString(), lineage.Trials[0].Network);
        Assert.True(after.Network.ParameterCount >= before.Network.ParameterCount);
        Assert.Equal(SmallModels.Scores(parent, data).Length, SmallModels.Scores(grown, data).Length); // same rows, same classes
        Assert.Equal(after.Model.Recipe, before.Model.Recipe);
    }

    [Fact]
    public void BadSettingsAndDataGiveClearErrors()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 4, seed: 8));

        var streamed = Options();
        streamed.CacheFeatures = false;
        var e = Assert.Throws<ArgumentException>(() => Grow(ml, data, streamed));
        Assert.Contains("ValidationSetFraction", e.Message, StringComparison.Ordinal);

        var all = Options();
        all.ValidationSetFraction = 1;
        Assert.Throws<ArgumentOutOfRangeException>(() => Grow(ml, data, all));

        var tight = Options();
        tight.MaxParameters = 10;
        var limit = Assert.Throws<ArgumentException>(() => Grow(ml, data, tight));
        Assert.Contains("MaxParameters", limit.Message, StringComparison.Ordinal);

        var noTrials = Options();
        noTrials.ChildrenPerRound = 0;
        Assert.Contains("ChildrenPerRound", Assert.Throws<ArgumentException>(() => Grow(ml, data, noTrials)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CancellationStopsTheSearchWithOperationCanceled()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 9));
        using var cancel = new CancellationTokenSource();
        var options = Options();
        options.CancellationToken = cancel.Token;
        options.TrialCallback = t =>
        {
            if (t.Id == 2)
                cancel.Cancel();
        };
        Assert.ThrowsAny<OperationCanceledException>(() => Grow(ml, data, options));
    }

    [Fact]
    public void TheTrainerGrowsInsideOneScheduleAndRecordsTheMorphs()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 8, seed: 10));
        var options = SmallModels.Options(epochs: 3);
        options.GrowthSchedule = "epoch 1: widen(conv1, 6); epoch 2: deepen(conv1, kernel=3)";
        var model = SmallModels.Train(ml, data, options);

        var classifier = ml.Morphism().FindClassifier(model);
        Assert.Equal(6, ((Networks.Conv2dLayer)classifier.Network["conv1"]).OutChannels);
        Assert.True(classifier.Network.Contains("conv1_d1"));
        Assert.Equal(["widen(conv1, 6)", "deepen(conv1, kernel=3, width=6)"], classifier.MorphHistory.Select(s => s.ToString()));
        Assert.NotNull(classifier.LastMorphReport);
        Assert.True(classifier.LastMorphReport!.MaxRelError <= 1e-4);
        Assert.Equal(3, classifier.Model.TrainingHistory.Length);

        using var dir = new TempDirectory();
        var path = dir.File("grown.zip");
        ml.Morphism().SaveModel(model, data.Schema, path);
        Assert.Equal(SmallModels.Scores(model, data), SmallModels.Scores(ml.Model.Load(path, out _), data));

        var bad = SmallModels.Options(epochs: 3);
        bad.GrowthSchedule = "epoch one: widen(conv1, 6)";
        Assert.Throws<FormatException>(() => SmallModels.Train(ml, data, bad));
    }
}
