using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Tests.Classifier;

[Collection(nameof(ClassifierCollection))]
public class TrainingControlTests(ClassifierFixture fixture)
{
    private MLContext Ml => fixture.Ml;

    [Fact]
    public void CancellationStopsTrainingWithinOneBatch()
    {
        using var cancel = new CancellationTokenSource();
        var options = ClassifierFixture.Options();
        options.CancellationToken = cancel.Token;
        options.MaxEpoch = 50;
        options.MetricsCallback = _ => cancel.Cancel();
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label").Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options));

        var started = DateTime.UtcNow;
        Assert.ThrowsAny<OperationCanceledException>(() => pipeline.Fit(fixture.Train));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void LogSubscribersSeeEveryEpoch()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) =>
        {
            lock (messages)
                messages.Add(e.Message);
        };
        var options = ClassifierFixture.Options();
        options.MaxEpoch = 2;

        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options))
            .Fit(ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(8, seed: 3)));

        Assert.Contains(messages, m => m.Contains("epoch 1:", StringComparison.Ordinal));
        Assert.Contains(messages, m => m.Contains("epoch 2:", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidationSetFractionHoldsOutRowsReproduciblyBySeed()
    {
        // 96 rows, fraction 0.25: 24 validate, 72 train; the same seed splits (and trains) the same way.
        (List<EpochMetrics> Epochs, float[][] Scores, List<string> Log) Train(int seed, IDataView? validationSet = null)
        {
            var ml = new MLContext(seed: 1);
            var log = new List<string>();
            ml.Log += (_, e) =>
            {
                lock (log)
                    log.Add(e.Message);
            };
            var epochs = new List<EpochMetrics>();
            var options = ClassifierFixture.Options();
            options.MaxEpoch = 2;
            options.Seed = seed;
            options.ValidationSetFraction = 0.25;
            options.ValidationSet = validationSet;
            options.MetricsCallback = epochs.Add;
            var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options))
                .Fit(fixture.Train);
            return (epochs, ClassifierFixture.Scores(model, fixture.Test), log);
        }

        var first = Train(seed: 3);
        var again = Train(seed: 3);
        var other = Train(seed: 4);
        var given = Train(seed: 3, validationSet: Ml.Transforms.Conversion.MapValueToKey("Label").Fit(fixture.Train).Transform(fixture.Test));

        Assert.All(first.Epochs.Where(e => e.Epoch > 0), e => Assert.NotNull(e.ValidationLoss));
        Assert.Contains(first.Log, m => m.Contains("Validation: 24 of the 96 training rows (ValidationSetFraction 0.25, seed 3); training on the other 72.", StringComparison.Ordinal));
        Assert.Equal(first.Scores, again.Scores);
        Assert.Equal(first.Epochs.Select(e => e.ValidationLoss), again.Epochs.Select(e => e.ValidationLoss));
        Assert.NotEqual(first.Epochs.Select(e => e.ValidationLoss), other.Epochs.Select(e => e.ValidationLoss));
        // A given ValidationSet wins, as in ML.NET: no rows are held out.
        Assert.DoesNotContain(given.Log, m => m.Contains("ValidationSetFraction", StringComparison.Ordinal));
        Assert.All(given.Epochs.Where(e => e.Epoch > 0), e => Assert.NotNull(e.ValidationLoss));
    }

    [Fact]
    public void ValidationSetFractionNeedsTheRowsInMemory()
    {
        var options = ClassifierFixture.Options();
        options.ValidationSetFraction = 0.2;
        options.CacheFeatures = false;

        var e = Assert.Throws<ArgumentException>(() => Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)).Fit(fixture.Train));

        Assert.Contains("ValidationSetFraction 0.2 splits the decoded training rows, but they are streamed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EarlyStoppingCriteriaStopTrainingAsMLNetSaysIt()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) =>
        {
            lock (log)
                log.Add(e.Message);
        };
        var options = ClassifierFixture.Options();
        options.MaxEpoch = 20;
        options.ValidationSetFraction = 0.25;
        // No accuracy rises by more than 100 pp: the run stops 2 epochs after the first.
        options.EarlyStoppingCriteria = new EarlyStopping(patience: 2, minDelta: 1, metric: EarlyStoppingMetric.ValidationAccuracy);
        var epochs = new List<EpochMetrics>();
        options.MetricsCallback = epochs.Add;

        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)).Fit(fixture.Train);

        Assert.Equal(3, epochs.Max(e => e.Epoch));
        Assert.Contains(log, m => m.Contains("Early stopping after epoch 3: validation accuracy has not improved by more than 1 for 2 epoch(s)", StringComparison.Ordinal));
        var recipe = ml.Morphism().FindClassifier(model).Model.Recipe;
        Assert.Equal((2, EarlyStoppingMetric.ValidationAccuracy, 1.0), (recipe.EarlyStoppingPatience, recipe.EarlyStoppingMetric, recipe.EarlyStoppingMinDelta));
    }

    [Fact]
    public void TheObsoletePatienceIsTheSameAsCriteriaOnTheLossAndNotBoth()
    {
        var criteria = ClassifierFixture.Options();
        criteria.EarlyStoppingCriteria = new EarlyStopping(patience: 4);
        var shim = ClassifierFixture.Options();
#pragma warning disable CS0618 // the shim under test
        shim.EarlyStoppingPatience = 4;
        var both = ClassifierFixture.Options();
        both.EarlyStoppingPatience = 4;
#pragma warning restore CS0618
        both.EarlyStoppingCriteria = new EarlyStopping(patience: 4);
        var host = (Runtime.IHost)((Runtime.IHostEnvironment)Ml).Register("test");

        Assert.Equal(MorphableImageClassifierTrainer.Recipe(host, criteria), MorphableImageClassifierTrainer.Recipe(host, shim));
        Assert.Equal(EarlyStoppingMetric.ValidationLoss, MorphableImageClassifierTrainer.Recipe(host, shim).EarlyStoppingMetric);
        Assert.Contains("not both", Assert.Throws<ArgumentException>(() => MorphableImageClassifierTrainer.Recipe(host, both)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(patience: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EarlyStopping(minDelta: double.NaN));
    }

    [Fact]
    public void ProgressGoesToMLNetsProgressChannelWithEpochBatchLossAndAccuracy()
    {
        var ml = new MLContext(seed: 1);
        var options = ClassifierFixture.Options();
        options.MaxEpoch = 3;

        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options)).Fit(fixture.Train);

        // ML.NET keeps progress in its environment's tracker (internal; read here by reflection): one checkpoint per epoch.
        const BindingFlags Any = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        var environment = typeof(MLContext).GetField("_env", Any)!.GetValue(ml)!;
        var tracker = Member(environment, "ProgressTracker");
        var events = ((System.Collections.IEnumerable)tracker.GetType().GetMethod("GetAllProgress", Any)!.Invoke(tracker, null)!).Cast<object>().ToList();
        var checkpoints = events.Where(e => Field(e, "Name") is string name && name.StartsWith("Training", StringComparison.Ordinal))
            .Select(e => Field(e, "ProgressEntry")).Where(entry => entry is not null && (bool)Field(entry, "IsCheckpoint")!).ToList();

        Assert.Equal(3, checkpoints.Count);
        var header = Field(checkpoints[0]!, "Header")!;
        Assert.Equal(["Loss", "Accuracy"], (string[])Field(header, "MetricNames")!);
        Assert.Equal(["epochs", "batches"], (string[])Field(header, "UnitNames")!);
        Assert.Equal([1.0, 2.0, 3.0], checkpoints.Select(c => ((double?[])Field(c!, "Progress")!)[0]!.Value));
        Assert.All(checkpoints, c => Assert.InRange(((double?[])Field(c!, "Metrics")!)[1]!.Value, 0, 1));

        static object Member(object target, string name)
        {
            for (var type = target.GetType(); type is not null; type = type.BaseType)
            {
                if (type.GetProperty(name, Any | BindingFlags.DeclaredOnly) is { } property)
                    return property.GetValue(target)!;
                if (type.GetField(name, Any | BindingFlags.DeclaredOnly) is { } field)
                    return field.GetValue(target)!;
            }
            throw new MissingMemberException(target.GetType().Name, name);
        }

        static object? Field(object target, string name) =>
            target.GetType().GetField(name, Any)?.GetValue(target) ?? target.GetType().GetProperty(name, Any)?.GetValue(target);
    }

    [Fact]
    public void WarmStartContinuesFromTheGivenModel()
    {
        var classifier = Ml.Morphism().FindClassifier(fixture.Parent);
        var keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(fixture.Train).Transform(fixture.Train);
        var options = ClassifierFixture.Options();
        options.MaxEpoch = 1;
        options.LearningRate = 1e-9;
        var trainer = Ml.MulticlassClassification.Trainers.MorphableImageClassifier(options);

        var continued = trainer.Fit(keyed, classifier.Model);

        // At a negligible learning rate the warm-started model still scores like the parent.
        var before = classifier.Transform(keyed).GetColumn<float[]>("Score").ToArray();
        var after = continued.Transform(keyed).GetColumn<float[]>("Score").ToArray();
        Assert.True(ClassifierFixture.MaxScoreDifference(before, after) < 0.05);
        Assert.Equal(classifier.Network, continued.Network);
    }
}
