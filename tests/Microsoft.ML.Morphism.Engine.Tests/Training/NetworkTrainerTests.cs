using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

[Collection(nameof(SerialTorchTests))]
public class NetworkTrainerTests
{
    private static readonly NetworkDescription Net = NetworkDescription.Parse("input(1,10,10) conv(6,3) bn relu maxpool(2) conv(8,3) prelu dropout(0.1) flatten dense(4)");

    private static TrainingRecipe Recipe(int epochs = 3) => new() { MaxEpoch = epochs, BatchSize = 16, LearningRate = 0.05, Seed = 11 };

    [Fact]
    public void TrainingLowersTheLossAndLearnsTheData()
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        var trainer = new NetworkTrainer(Recipe(epochs: 4));

        var result = trainer.Train(Net, NetworkWeights.Initialize(Net, 1), data, SyntheticData.Squares(64, 4, 10, seed: 2));

        Assert.Equal(4, result.History.Count);
        Assert.True(result.History[^1].TrainLoss < result.History[0].TrainLoss * 0.7, string.Join(", ", result.History.Select(h => h.TrainLoss)));
        Assert.True(result.History[^1].ValidationAccuracy > 0.9);
    }

    [Fact]
    public void SameSeedDataAndThreadsGiveBitIdenticalWeights()
    {
        var data = SyntheticData.Squares(96, 4, 10, seed: 1);
        var recipe = Recipe(epochs: 2) with { ShiftPixels = 1, HorizontalFlip = true };

        var a = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), data).Weights;
        var b = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), data).Weights;
        var c = new NetworkTrainer(recipe with { Seed = 12 }).Train(Net, NetworkWeights.Initialize(Net, 1), data).Weights;

        Assert.All(a.Keys, key => Assert.True(a[key].Values.SequenceEqual(b[key].Values), key));
        Assert.Contains(a.Keys, key => !a[key].Values.SequenceEqual(c[key].Values));
    }

    [Fact]
    public void PhaseTimesChargeEveryBatchOfEveryEpochToItsPhases()
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        var phases = new TrainingPhaseTimes();
        var epochs = new List<(int Batches, TimeSpan[] Phases, TimeSpan Total, double Seconds)>();
        var hooks = new TrainingHooks
        {
            PhaseTimes = phases,
            EpochCompleted = metrics =>
            {
                epochs.Add((phases.Batches, Enum.GetValues<TrainingPhase>().Select(p => phases[p]).ToArray(), phases.Total, metrics.Seconds));
                phases.Reset();
            },
        };

        new NetworkTrainer(Recipe(epochs: 2)).Train(Net, NetworkWeights.Initialize(Net, 1), data, hooks: hooks);

        Assert.Equal(2, epochs.Count);
        Assert.All(epochs, epoch =>
        {
            Assert.Equal(10, epoch.Batches); // 160 rows in batches of 16
            Assert.All(epoch.Phases, phase => Assert.True(phase > TimeSpan.Zero));
            Assert.True(epoch.Total.TotalSeconds <= epoch.Seconds, $"phases sum to {epoch.Total.TotalSeconds} s, more than the epoch's {epoch.Seconds} s");
        });
    }

    [Fact]
    public void CancellationStopsBeforeTheNextBatch()
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var hooks = new TrainingHooks
        {
            CancellationToken = cancel.Token,
            CheckAlive = () =>
            {
                if (++batches == 3)
                    cancel.Cancel();
            },
        };

        Assert.ThrowsAny<OperationCanceledException>(() => new NetworkTrainer(Recipe()).Train(Net, NetworkWeights.Initialize(Net, 1), data, hooks: hooks));
        Assert.Equal(3, batches);
    }

    [Fact]
    public void DivergenceFromScratchNamesEpochAndBatch()
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        var recipe = Recipe() with { LearningRate = 1e6, WarmupEpochs = 0 };

        var e = Assert.Throws<TrainingDivergedException>(() => new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), data));

        Assert.Contains($"epoch {e.Epoch}, batch {e.Batch}", e.Message);
    }

    [Fact]
    public void ALossThatStaysNearChanceAcrossEpochsIsNotDivergence()
    {
        // Labels unrelated to the images and a small learning rate: the loss stays flat, above chance (ln 4).
        // The running mean must carry over from one epoch to the next; restarting it at 0 made the first batches
        // of epoch 2 look like a blow-up ("loss 2.35 is above 5x its running mean 0").
        var images = SyntheticData.Squares(320, 4, 10, seed: 1);
        var random = new Random(3);
        var features = images.Batches(320, shuffle: null).Single().Features.ToArray();
        var labels = Enumerable.Range(0, 320).Select(_ => (long)random.Next(4)).ToArray();
        var noise = new InMemoryTrainingSet(features, labels, images.FeatureSize);

        var result = new NetworkTrainer(Recipe(epochs: 3) with { LearningRate = 0.001 }).Train(Net, NetworkWeights.Initialize(Net, 1), noise);

        Assert.Equal(StopReason.Completed, result.Reason);
        Assert.Equal(3, result.History.Count);
        Assert.All(result.History, epoch => Assert.InRange(epoch.TrainLoss, Math.Log(4) * 0.8, result.History[0].TrainLoss * 1.5));
    }

    [Fact]
    public void DivergingRefitWithoutValidationReturnsTheStartingWeights()
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        var start = NetworkWeights.Initialize(Net, 1);
        var recipe = Recipe() with { LearningRate = 1e6, WarmupEpochs = 0 };

        var result = new NetworkTrainer(recipe).Train(Net, start, data, hooks: new TrainingHooks { StartingWeightsAreACandidate = true });

        Assert.Equal(StopReason.Diverged, result.Reason);
        Assert.Equal(0, result.SelectedEpoch);
        Assert.All(start.Keys, key => Assert.True(start[key].Values.SequenceEqual(result.Weights[key].Values), key));
        Assert.Contains("keeping the starting", result.Message);
    }

    [Fact]
    public void ActivationLearningRateFactorMakesTheInsertedActivationLeaveTheIdentityFaster()
    {
        // A parent with much left to learn, deepened: the loss pulls the inserted activation toward non-linear.
        var parent = NetworkDescription.Parse("input(1,10,10) conv(6,3) relu maxpool(2) conv(8,3) relu flatten dense(4)");
        // Width pinned: whether the loss pulls a down at all depends on the network; at 23 it does.
        var child = new DeepenStep("conv2", 3, Width: 23).Apply(parent, NetworkWeights.Initialize(parent, 1), new MorphContext(1));
        var data = SyntheticData.Squares(160, 4, 10, seed: 1);
        double DriftOfA(double factor)
        {
            var refit = Recipe(epochs: 2) with { LearningRate = 0.005, ActivationLearningRateFactor = factor };
            return 1 - new NetworkTrainer(refit).Train(child.Network, child.Weights, data).Weights["conv2_d1_act.a"].Values[0];
        }

        double slow = DriftOfA(1), fast = DriftOfA(30);

        // At a refit's learning rate a barely leaves 1 (in float32, steps under 6e-8 round back to exactly 1).
        Assert.InRange(slow, 0, 0.1);
        Assert.True(fast > Math.Max(10 * slow, 0.05), $"a moved {fast} with factor 30 and {slow} with factor 1");
        Assert.InRange(fast, 0, 1);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public void ActivationLearningRateFactorMustBePositive(double factor)
    {
        var e = Assert.Throws<ArgumentException>(() => new NetworkTrainer(Recipe() with { ActivationLearningRateFactor = factor }));

        Assert.Contains("ActivationLearningRateFactor must be positive", e.Message);
    }

    [Fact]
    public void EarlyStoppingKeepsTheBestEpochByValidationLoss()
    {
        var train = SyntheticData.Squares(64, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(64, 4, 10, seed: 5);
        var recipe = Recipe(epochs: 30) with { EarlyStoppingPatience = 1, Schedule = LearningRateSchedule.Constant, LearningRate = 0.2 };

        var result = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), train, validation);

        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        var best = result.History.MinBy(h => h.ValidationLoss)!;
        Assert.Equal(best.Epoch, result.SelectedEpoch);
        Assert.Equal(best.ValidationLoss!.Value, new NetworkTrainer(recipe).Evaluate(Net, result.Weights, validation).Loss, 5);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void EarlyStoppingWatchesTheChosenMetricWithItsMinimumChange(int patience)
    {
        var train = SyntheticData.Squares(64, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(64, 4, 10, seed: 5);
        // No accuracy can rise by more than 1 (100 pp): after the first epoch nothing counts as an improvement.
        var recipe = Recipe(epochs: 10) with
        {
            EarlyStoppingPatience = patience, EarlyStoppingMetric = EarlyStoppingMetric.ValidationAccuracy, EarlyStoppingMinDelta = 1,
        };

        var result = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), train, validation);

        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        Assert.Equal(1 + patience, result.History.Max(h => h.Epoch));
        Assert.Contains($"validation accuracy has not improved by more than 1 for {patience} epoch(s)", result.Message);
        // The kept weights are still the lowest validation loss's.
        Assert.Equal(result.History.MinBy(h => h.ValidationLoss)!.Epoch, result.SelectedEpoch);
    }

    [Fact]
    public void EarlyStoppingSettingsOutOfRangeAreRefused()
    {
        Assert.Contains("EarlyStoppingMinDelta must not be negative",
            Assert.Throws<ArgumentException>(() => new NetworkTrainer(Recipe() with { EarlyStoppingMinDelta = -0.1 })).Message);
        Assert.Contains("is not a metric early stopping knows",
            Assert.Throws<ArgumentException>(() => new NetworkTrainer(Recipe() with { EarlyStoppingMetric = (EarlyStoppingMetric)7 })).Message);
    }

    [Fact]
    public void RefitKeepsTheStartingWeightsWhenNoEpochBeatsThemOnValidation()
    {
        var validation = SyntheticData.Squares(64, 4, 10, seed: 5);
        var start = new NetworkTrainer(Recipe(epochs: 4)).Train(Net, NetworkWeights.Initialize(Net, 1), SyntheticData.Squares(160, 4, 10, seed: 1)).Weights;
        // The refit data teaches the wrong classes, so every refit epoch is worse on validation than the start.
        var squares = SyntheticData.Squares(160, 4, 10, seed: 2);
        var all = squares.Batches(160, shuffle: null).Single();
        var wrong = new InMemoryTrainingSet(all.Features.ToArray(), [.. all.Labels.Select(l => (l + 1) % 4)], squares.FeatureSize);

        var refit = Recipe(epochs: 3) with { LearningRate = 0.005 }; // a tenth of the peak, as refits default to
        var result = new NetworkTrainer(refit).Train(Net, start, wrong, validation, new TrainingHooks { StartingWeightsAreACandidate = true });

        Assert.True(result.Reason == StopReason.Completed, result.Message);
        Assert.Equal(0, result.SelectedEpoch);
        Assert.Equal([0, 1, 2, 3], result.History.Select(h => h.Epoch));
        Assert.All(result.History.Skip(1), h => Assert.True(h.ValidationLoss > result.History[0].ValidationLoss));
        Assert.All(start.Keys, key => Assert.True(start[key].Values.SequenceEqual(result.Weights[key].Values), key));
    }

    [Fact]
    public void MonitorOnlyValidationKeepsTheLastEpoch()
    {
        var train = SyntheticData.Squares(64, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(64, 4, 10, seed: 5);
        var recipe = Recipe(epochs: 4) with { Schedule = LearningRateSchedule.Constant, LearningRate = 0.05 };
        var trainer = new NetworkTrainer(recipe);

        var result = trainer.Train(Net, NetworkWeights.Initialize(Net, 1), train, validation, new TrainingHooks { SelectBestValidationEpoch = false });

        Assert.Equal(4, result.SelectedEpoch);
        Assert.Equal(result.History[^1].ValidationLoss!.Value, trainer.Evaluate(Net, result.Weights, validation).Loss, 5);
    }

    [Fact]
    public void EpochCallbackAndLogSeeEveryEpoch()
    {
        var data = SyntheticData.Squares(64, 4, 10, seed: 1);
        var epochs = new List<EpochMetrics>();
        var log = new List<string>();

        new NetworkTrainer(Recipe(epochs: 2)).Train(Net, NetworkWeights.Initialize(Net, 1), data,
            hooks: new TrainingHooks { EpochCompleted = epochs.Add, Log = log.Add });

        Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        Assert.All(epochs, e => Assert.Equal(64, e.Examples));
        Assert.Contains(log, l => l.StartsWith("epoch 2:", StringComparison.Ordinal));
    }

    [Fact]
    public void CosineScheduleWarmsUpThenDecaysToZero()
    {
        var recipe = new TrainingRecipe { LearningRate = 0.1, MaxEpoch = 10, WarmupEpochs = 1 };

        Assert.Equal(0.05, recipe.LearningRateAt(0.5), 10);
        Assert.Equal(0.1, recipe.LearningRateAt(1), 10);
        Assert.Equal(0.05, recipe.LearningRateAt(5.5), 10);
        Assert.Equal(0.0, recipe.LearningRateAt(10), 10);
    }

    [Fact]
    public void DataOfTheWrongSizeIsRejected()
    {
        var data = SyntheticData.Squares(16, 4, 9, seed: 1);

        var e = Assert.Throws<ArgumentException>(() => new NetworkTrainer(Recipe()).Train(Net, NetworkWeights.Initialize(Net, 1), data));

        Assert.Contains("takes 100 values per example but the data has 81", e.Message);
    }

    [Fact]
    public void AMonitorSetIsMeasuredEveryEpochWithoutChangingTheRunOrItsCost()
    {
        var train = SyntheticData.Squares(64, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(32, 4, 10, seed: 2);
        var test = SyntheticData.Squares(40, 4, 10, seed: 3);
        var recipe = new TrainingRecipe { MaxEpoch = 2, BatchSize = 16, Seed = 4 };
        var plain = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), train, validation, new TrainingHooks { SelectBestValidationEpoch = false });
        var monitored = new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), train, validation, new TrainingHooks { MonitorSet = test, SelectBestValidationEpoch = false });

        Assert.All(plain.History, m => Assert.Null(m.MonitorAccuracy));
        Assert.All(monitored.History, m => Assert.InRange(m.MonitorAccuracy!.Value, 0, 1));
        var expected = new NetworkTrainer(recipe).Evaluate(Net, monitored.Weights, test).Accuracy;
        Assert.Equal(expected, monitored.History[^1].MonitorAccuracy);
        Assert.Equal(plain.History.Select(m => m.CumulativeMacs), monitored.History.Select(m => m.CumulativeMacs));
        foreach (var key in plain.Weights.Keys)
            Assert.True(plain.Weights[key].Values.SequenceEqual(monitored.Weights[key].Values), $"{key}: the monitor changed training");
    }
}

/// <summary>Tests that train or measure process-wide native state run one at a time.</summary>
[CollectionDefinition(nameof(SerialTorchTests), DisableParallelization = true)]
public sealed class SerialTorchTests;
