using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

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
