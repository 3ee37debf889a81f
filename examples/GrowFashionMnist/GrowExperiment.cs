// One seed of the main job: train the parent, morph it exactly, refit the child, train the same child from scratch.
using System.Diagnostics;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Examples.GrowFashionMnist;

/// <summary>
/// Runs the protocol for one seed. Test accuracy is measured after every epoch as a monitor only
/// (<c>SelectBestValidationEpoch = false</c>): every arm returns its last epoch, nothing is selected on the test set.
/// </summary>
internal sealed class GrowExperiment(MLContext ml, FashionMnistSplits data, GrowSettings settings, int seed, TextWriter console)
{
    private readonly IDataView _testFeatures = data.Featurizer.Fit(data.Train).Transform(data.Test);

    /// <summary>The library's "Refit diverged ..." log line of the current refit, if it wrote one.</summary>
    private volatile string? _refitDivergence;

    public SeedResult Run()
    {
        // The refit's divergence guard reports through ML.NET's log, not an exception: keep its sentence for the report.
        ml.Log += (_, e) =>
        {
            if (e.RawMessage.StartsWith("Refit diverged", StringComparison.Ordinal))
                _refitDivergence = e.RawMessage;
        };
        var (parent, parentArm) = Train("parent", network: null, settings.Epochs, settings.LearningRate);
        if (parent is null)
        {
            // Nothing else can run without a trained parent: no morph, and no child architecture to train from scratch.
            console.WriteLine($"[seed {seed}] the morph, the refit and the scratch runs are skipped: the parent diverged");
            return new SeedResult(seed, parentArm, null, null, null, null, settings.ParentNetwork().Summary(), null, null, null, data.Train.Schema);
        }

        // Morph only (MaxEpoch = 0): the child must score exactly like the parent.
        var clock = Stopwatch.StartNew();
        var morphed = parent.Morph(ml, settings.Plan, new RefitOptions { MaxEpoch = 0, Seed = seed }).Fit(data.Train);
        var morphSeconds = clock.Elapsed.TotalSeconds;
        var check = CheckPreservation(parent, morphed, morphSeconds);
        Print(check);

        // Morph + refit, the way users grow a model. The same seed gives the same morphed weights as above,
        // and the refit's epoch 0 is the morphed child measured on the test set.
        var refitCurve = new List<EpochPoint>();
        _refitDivergence = null;
        clock.Restart();
        var child = parent.Morph(ml, settings.Plan, new RefitOptions
        {
            MaxEpoch = settings.RefitEpochs,
            LearningRate = settings.RefitLearningRate,
            WarmupEpochs = settings.RefitWarmupEpochs,
            ValidationSet = data.Test,
            SelectBestValidationEpoch = false,
            Seed = seed,
            Threads = settings.Threads,
            MetricsCallback = m => Record("child refit", settings.RefitEpochs, refitCurve, m),
        }).Fit(data.Train);
        var refitArm = Arm("child, morphed + refit", child, settings.RefitEpochs, clock.Elapsed.TotalSeconds, refitCurve);
        // A refit that diverges does not throw: the library's guard stops it and returns earlier weights. Its curve ends early.
        if (refitCurve.Count == 0 || refitCurve[^1].Epoch < settings.RefitEpochs)
        {
            int epoch = refitCurve.Count == 0 ? 1 : refitCurve[^1].Epoch + 1;
            refitArm = refitArm with
            {
                Divergence = Divergence.After(refitCurve, epoch, batch: null, keptEarlierWeights: true,
                    _refitDivergence ?? $"Refit stopped in epoch {epoch} of {settings.RefitEpochs}; the library's divergence guard returned earlier weights."),
            };
            console.WriteLine($"[seed {seed}] child refit diverged: {refitArm.Divergence!.Message}");
        }

        // The same child architecture from random weights, with the parent's recipe and the total epoch budget.
        var childNetwork = Classifier(child).Network;
        var scratchRate = settings.ScratchLearningRate ?? settings.LearningRate;
        var (_, scratchArm) = Train("child from scratch", childNetwork, settings.EqualBudgetEpochs, scratchRate);
        ArmResult? longScratchArm = settings.LongScratchEpochs > 0
            ? Train("child from scratch (long)", childNetwork, settings.LongScratchEpochs, scratchRate).Arm
            : null;

        return new SeedResult(seed, parentArm, check, refitArm, scratchArm, longScratchArm,
            Classifier(parent).Network.Summary(), childNetwork.Summary(before: Classifier(parent).Network), parent, child, data.Train.Schema);
    }

    /// <summary>Trains one arm; a <see cref="TrainingDivergedException"/> becomes an arm without a model that says where it diverged.</summary>
    private (ITransformer? Model, ArmResult Arm) Train(string name, NetworkDescription? network, int epochs, double learningRate)
    {
        var curve = new List<EpochPoint>();
        var options = new MorphableImageClassifierTrainer.Options
        {
            ImageHeight = Samples.FashionMnist.ImageSize,
            ImageWidth = Samples.FashionMnist.ImageSize,
            ImageChannels = 1,
            Architecture = settings.Architecture,
            Network = network,
            MaxEpoch = epochs,
            BatchSize = settings.BatchSize,
            LearningRate = learningRate,
            ActivationLearningRateFactor = settings.ActivationLearningRateFactor,
            ShiftPixels = settings.Augmentation ? 2 : 0,
            HorizontalFlip = settings.Augmentation,
            Seed = seed,
            Threads = settings.Threads,
            ValidationSet = _testFeatures,
            SelectBestValidationEpoch = false,
            MetricsCallback = m => Record(name, epochs, curve, m),
        };
        var pipeline = data.Featurizer
            .Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(options))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var clock = Stopwatch.StartNew();
        try
        {
            var model = pipeline.Fit(data.Train);
            return (model, Arm(name, model, epochs, clock.Elapsed.TotalSeconds, curve));
        }
        catch (TrainingDivergedException e)
        {
            var divergence = Divergence.After(curve, e.Epoch, e.Batch, keptEarlierWeights: false, e.Message);
            console.WriteLine($"[seed {seed}] {name} diverged: {e.Message}");
            var parameters = (network ?? settings.ParentNetwork()).TrainableParameterCount;
            return (null, new ArmResult(name, epochs, divergence.LastGoodAccuracy ?? double.NaN, clock.Elapsed.TotalSeconds, parameters, curve, divergence));
        }
    }

    private ArmResult Arm(string name, ITransformer model, int epochs, double seconds, List<EpochPoint> curve)
    {
        var classifier = Classifier(model);
        var accuracy = ml.MulticlassClassification.Evaluate(classifier.Transform(_testFeatures)).MicroAccuracy;
        return new ArmResult(name, epochs, accuracy, seconds, classifier.Network.TrainableParameterCount, curve);
    }

    /// <summary>Parent against the morph-only child on the whole test set: accuracy, ML.NET scores and logits.</summary>
    private MorphCheck CheckPreservation(ITransformer parent, ITransformer morphed, double morphSeconds)
    {
        var parentClassifier = Classifier(parent);
        var childClassifier = Classifier(morphed);
        var parentScored = parentClassifier.Transform(_testFeatures);
        var childScored = childClassifier.Transform(_testFeatures);
        var parentScores = parentScored.GetColumn<float[]>("Score").ToArray();
        var childScores = childScored.GetColumn<float[]>("Score").ToArray();
        double maxScoreDifference = parentScores.Zip(childScores).Max(p => p.First.Zip(p.Second).Max(s => Math.Abs(s.First - s.Second)));
        int samePrediction = parentScores.Zip(childScores).Count(p => ArgMax(p.First) == ArgMax(p.Second));

        // The logit-level check the library promises, on every test image (not only the refit's verification rows).
        var features = _testFeatures.GetColumn<float[]>("Features").SelectMany(row => row.Select(v => (double)v)).ToArray();
        var inputs = new WeightTensor(parentClassifier.Network.Input.WithBatch(parentScores.Length), features);
        var report = MorphVerifier.Verify(parentClassifier.Network, parentClassifier.Model.Weights,
            childClassifier.Network, childClassifier.Model.Weights, inputs);

        return new MorphCheck(
            ParentAccuracy: ml.MulticlassClassification.Evaluate(parentScored).MicroAccuracy,
            ChildAccuracy: ml.MulticlassClassification.Evaluate(childScored).MicroAccuracy,
            MaxScoreDifference: maxScoreDifference,
            SamePrediction: samePrediction,
            Rows: parentScores.Length,
            MaxAbsLogitError: report.MaxAbsError,
            MaxRelLogitError: report.MaxRelError,
            MarginRows: report.MarginInputs,
            MarginRowsAgreeing: report.AgreeingInputs,
            MorphSeconds: morphSeconds,
            Steps: string.Join(" ", childClassifier.MorphHistory));
    }

    private MorphableImageClassifierTransformer Classifier(ITransformer model) => ml.Morphism().FindClassifier(model);

    private void Record(string arm, int epochs, List<EpochPoint> curve, EpochMetrics m)
    {
        curve.Add(new EpochPoint(m.Epoch, m.TrainLoss, m.TrainAccuracy, m.ValidationLoss ?? double.NaN, m.ValidationAccuracy ?? double.NaN, m.Seconds));
        console.WriteLine(m.Epoch == 0
            ? $"[seed {seed}] {arm} epoch 0 (morphed weights): test accuracy {m.ValidationAccuracy:P2}, test loss {m.ValidationLoss:F4}"
            : $"[seed {seed}] {arm} epoch {m.Epoch}/{epochs}: train loss {m.TrainLoss:F4}, train accuracy {m.TrainAccuracy:P2}, " +
              $"test accuracy {m.ValidationAccuracy:P2}, {m.Seconds:F1} s");
    }

    private void Print(MorphCheck check)
    {
        console.WriteLine($"[seed {seed}] morph: {check.Steps} ({check.MorphSeconds:F2} s)");
        console.WriteLine($"[seed {seed}]   test accuracy parent {check.ParentAccuracy:P2}, morphed child {check.ChildAccuracy:P2}; " +
                          $"same prediction on {check.SamePrediction}/{check.Rows} images");
        console.WriteLine($"[seed {seed}]   max |Score difference| {check.MaxScoreDifference:0.00e+00}; max logit error {check.MaxAbsLogitError:0.00e+00} abs, " +
                          $"{check.MaxRelLogitError:0.00e+00} rel; margin rule: {check.MarginRowsAgreeing}/{check.MarginRows} agree");
    }

    private static int ArgMax(float[] values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
            if (values[i] > values[best])
                best = i;
        return best;
    }
}
