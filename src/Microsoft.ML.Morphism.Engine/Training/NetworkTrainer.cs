// The training loop: mini-batch SGD/Adam over an ITrainingSet with schedule, augmentation, validation and stopping rules.
using System.Diagnostics;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Trains a network description from given weights. Every batch runs in its own dispose scope (no
/// native memory growth across batches or epochs), randomness comes from the recipe's seed only
/// (shuffling, augmentation, dropout), P-activations are clamped into [0, 1] after each step.
/// </summary>
public sealed class NetworkTrainer
{
    private const int DivergenceWarmupBatches = 20;
    private readonly TrainingRecipe _recipe;
    private readonly Device _device;

    /// <summary>Creates a trainer for a recipe on a device (CPU by default).</summary>
    public NetworkTrainer(TrainingRecipe recipe, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        recipe.Validate();
        _recipe = recipe;
        _device = device ?? CPU;
    }

    /// <summary>
    /// Trains <paramref name="network"/> starting from <paramref name="weights"/> (float32) on
    /// <paramref name="train"/>, evaluating on <paramref name="validation"/> after every epoch when given.
    /// </summary>
    public TrainingResult Train(NetworkDescription network, NetworkWeights weights, ITrainingSet train, ITrainingSet? validation = null, TrainingHooks? hooks = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        hooks ??= new TrainingHooks();
        int featureSize = checked((int)network.Input.Size);
        if (train.FeatureSize != featureSize || (validation is not null && validation.FeatureSize != featureSize))
            throw new ArgumentException($"The network takes {featureSize} values per example but the data has {train.FeatureSize}.");

        using var module = new NetworkModule(network, weights.ToPrecision(Precision.Float32), _device);
        using var generator = new Generator((ulong)_recipe.Seed, _device);
        module.RandomSource = generator;
        var augmentation = new Augmentation(_recipe.ShiftPixels, _recipe.HorizontalFlip, generator);
        var shuffle = new Random(_recipe.Seed);
        var (created, groupFactors) = CreateOptimizer(module);
        using var optimizer = created;
        var paramGroups = optimizer.ParamGroups.ToArray(); // read once; every batch sets their learning rates
        using var upload = new BatchUpload(network.Input, _device);
        double chanceLoss = Math.Log(Math.Max(2, network.Output.Size));
        long batchesPerEpoch = (train.Count + _recipe.BatchSize - 1) / _recipe.BatchSize;

        var history = new List<EpochMetrics>();
        // The divergence rule compares each batch loss with a running mean over all batches so far, across epochs.
        double runningMean = 0;
        long batchesSeen = 0;
        NetworkWeights? best = null;
        double bestLoss = double.PositiveInfinity;
        int bestEpoch = 0, epochsWithoutImprovement = 0;

        if (hooks.StartingWeightsAreACandidate)
        {
            // The starting weights compete with every epoch; with a validation set they are measured as epoch 0.
            best = weights.ToPrecision(Precision.Float32);
            if (validation is not null)
            {
                var start = Stopwatch.StartNew();
                var (loss, accuracy) = Evaluate(module, validation, upload, hooks.CancellationToken);
                Report(hooks, history, new EpochMetrics(0, double.NaN, double.NaN, loss, accuracy, 0, start.Elapsed.TotalSeconds, 0));
                bestLoss = loss;
            }
        }

        for (int epoch = 1; epoch <= _recipe.MaxEpoch; epoch++)
        {
            var clock = Stopwatch.StartNew();
            module.train();
            double lossSum = 0, lr = 0;
            long correct = 0, seen = 0;
            int batchIndex = 0;
            var phases = hooks.PhaseTimes;
            phases?.Start();
            foreach (var batch in train.Batches(_recipe.BatchSize, shuffle))
            {
                phases?.Lap(TrainingPhase.Data);
                hooks.CancellationToken.ThrowIfCancellationRequested();
                hooks.CheckAlive?.Invoke();
                batchIndex++;
                double progress = (epoch - 1) + Math.Min(1, (batchIndex - 1) / (double)Math.Max(1, batchesPerEpoch));
                lr = _recipe.LearningRateAt(progress);
                for (int g = 0; g < paramGroups.Length; g++)
                    paramGroups[g].LearningRate = lr * groupFactors[g];

                using var scope = NewDisposeScope();
                phases?.Lap(TrainingPhase.Bookkeeping);
                var (x, y) = upload.Upload(batch);
                x = augmentation.Apply(x);
                phases?.Lap(TrainingPhase.Upload);
                var logits = module.forward(x);
                var loss = nn.functional.cross_entropy(logits, y);
                optimizer.zero_grad();
                loss.backward();
                phases?.Lap(TrainingPhase.ForwardBackward);
                optimizer.step();
                module.ClampActivations();
                hooks.AfterStep?.Invoke(module);
                phases?.Lap(TrainingPhase.Step);

                double batchLoss = loss.item<float>();
                if (!double.IsFinite(batchLoss) || (batchesSeen >= DivergenceWarmupBatches
                        && batchLoss > _recipe.DivergenceFactor * runningMean && batchLoss > chanceLoss))
                {
                    return Diverged(network, hooks, history, best, bestEpoch, validation is not null, epoch, batchIndex, batchLoss, runningMean, null);
                }
                runningMean = batchesSeen++ == 0 ? batchLoss : 0.95 * runningMean + 0.05 * batchLoss;
                lossSum += batchLoss * batch.Count;
                correct += logits.argmax(1).eq(y).sum().item<long>();
                seen += batch.Count;
                phases?.Lap(TrainingPhase.Bookkeeping);
            }
            phases?.Lap(TrainingPhase.Data); // the enumerator's last step: end of data, cursor disposed
            if (seen == 0)
                throw new ArgumentException("The training data has no rows.");
            // A step can leave non-finite weights behind a finite loss (the epoch's last step has no next loss to show it).
            if (module.NonFiniteParameter() is { } broken)
                return Diverged(network, hooks, history, best, bestEpoch, validation is not null, epoch, batchIndex, double.NaN, runningMean, $"'{broken}' is not finite after the step");

            var (validationLoss, validationAccuracy) = validation is null ? (null as double?, null as double?) : Evaluate(module, validation, upload, hooks.CancellationToken);
            var epochMetrics = new EpochMetrics(epoch, lossSum / seen, (double)correct / seen, validationLoss, validationAccuracy, lr, clock.Elapsed.TotalSeconds, seen);
            Report(hooks, history, epochMetrics);

            if (validationLoss is { } vl)
            {
                if (vl < bestLoss)
                {
                    (best, bestLoss, bestEpoch, epochsWithoutImprovement) = (module.ReadWeights(), vl, epoch, 0);
                }
                else if (_recipe.EarlyStoppingPatience is { } patience && ++epochsWithoutImprovement >= patience)
                {
                    var kept = hooks.SelectBestValidationEpoch ? $"keeping epoch {bestEpoch}" : $"keeping the last epoch (best was {bestEpoch})";
                    var message = $"Early stopping after epoch {epoch}: validation loss has not improved for {patience} epoch(s); {kept}.";
                    hooks.Log?.Invoke(message);
                    return hooks.SelectBestValidationEpoch
                        ? new TrainingResult(best!, history, StopReason.EarlyStopped, message, bestEpoch)
                        : new TrainingResult(module.ReadWeights(), history, StopReason.EarlyStopped, message, epoch);
                }
            }
        }

        if (validation is not null && best is not null && hooks.SelectBestValidationEpoch)
            return new TrainingResult(best, history, StopReason.Completed, null, bestEpoch);
        return new TrainingResult(module.ReadWeights(), history, StopReason.Completed, null, _recipe.MaxEpoch);
    }

    /// <summary>Mean cross-entropy and accuracy of the weights on a data set, in eval mode.</summary>
    public (double Loss, double Accuracy) Evaluate(NetworkDescription network, NetworkWeights weights, ITrainingSet data)
    {
        using var module = new NetworkModule(network, weights.ToPrecision(Precision.Float32), _device);
        using var upload = new BatchUpload(network.Input, _device);
        return Evaluate(module, data, upload, CancellationToken.None);
    }

    private (double Loss, double Accuracy) Evaluate(NetworkModule module, ITrainingSet data, BatchUpload upload, CancellationToken cancellation)
    {
        bool wasTraining = module.training;
        module.eval();
        using var noGrad = no_grad();
        double lossSum = 0;
        long correct = 0, seen = 0;
        foreach (var batch in data.Batches(Math.Max(_recipe.BatchSize, 256), shuffle: null))
        {
            cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var (x, y) = upload.Upload(batch);
            var logits = module.forward(x);
            lossSum += nn.functional.cross_entropy(logits, y, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(y).sum().item<long>();
            seen += batch.Count;
        }
        module.train(wasTraining);
        if (seen == 0)
            throw new ArgumentException("The validation data has no rows.");
        return (lossSum / seen, (double)correct / seen);
    }

    private TrainingResult Diverged(NetworkDescription network, TrainingHooks hooks, List<EpochMetrics> history, NetworkWeights? best, int bestEpoch,
        bool hasValidation, int epoch, int batch, double loss, double runningMean, string? reason)
    {
        var what = reason ?? (double.IsFinite(loss) ? $"loss {loss:G4} is above {_recipe.DivergenceFactor}× its running mean {runningMean:G4}" : $"loss is {loss}");
        if (!hooks.StartingWeightsAreACandidate || best is null)
            throw new TrainingDivergedException($"Training diverged at epoch {epoch}, batch {batch}: {what}. Lower the learning rate (now peak {_recipe.LearningRate}) or check the data for NaN/infinite values.", epoch, batch);
        var kept = hasValidation ? $"keeping epoch {bestEpoch}, the best by validation loss" : "keeping the starting (morphed, parent-equivalent) weights";
        var message = $"Refit diverged at epoch {epoch}, batch {batch}: {what}; {kept}. Lower the refit learning rate (peak {_recipe.LearningRate}).";
        hooks.Log?.Invoke(message);
        return new TrainingResult(best, history, StopReason.Diverged, message, bestEpoch);
    }

    private static void Report(TrainingHooks hooks, List<EpochMetrics> history, EpochMetrics metrics)
    {
        history.Add(metrics);
        hooks.EpochCompleted?.Invoke(metrics);
        hooks.Log?.Invoke(metrics.Epoch == 0
            ? $"epoch 0 (starting weights): validation loss {metrics.ValidationLoss:F4}, accuracy {metrics.ValidationAccuracy:P2}"
            : $"epoch {metrics.Epoch}: loss {metrics.TrainLoss:F4}, train accuracy {metrics.TrainAccuracy:P2}"
              + (metrics.ValidationLoss is { } vl ? $", validation loss {vl:F4}, accuracy {metrics.ValidationAccuracy:P2}" : "")
              + $", lr {metrics.LearningRate:G3}, {metrics.Seconds:F1}s");
    }

    /// <summary>The optimizer, and each of its parameter groups' learning rate as a multiple of the schedule's.</summary>
    private (OptimizerHelper Optimizer, double[] GroupFactors) CreateOptimizer(NetworkModule module)
    {
        // Weight decay applies to conv, dense and skip weights only: decaying biases, BatchNorm or a
        // P-activation's a would pull the network away from what the parent learned for no benefit.
        // A P-activation's a is one scalar per layer with a small gradient: it gets its own learning-rate factor.
        var all = module.named_parameters().ToList();
        bool IsLinearity((string name, Parameter parameter) p) => p.name.EndsWith(".a", StringComparison.Ordinal);
        var decayed = all.Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var other = all.Where(p => p.parameter.dim() < 2 && !IsLinearity(p)).Select(p => p.parameter).ToList();
        var linearity = all.Where(IsLinearity).Select(p => p.parameter).ToList();
        double lr = _recipe.LearningRate, momentum = _recipe.Momentum;
        var groups = new List<(List<Parameter> Parameters, double WeightDecay, double Factor)>
        {
            (decayed, _recipe.WeightDecay, 1), (other, 0, 1), (linearity, 0, _recipe.ActivationLearningRateFactor),
        };
        groups.RemoveAll(g => g.Parameters.Count == 0);
        OptimizerHelper optimizer = _recipe.Optimizer switch
        {
            OptimizerKind.Sgd => optim.SGD(
                [.. groups.Select(g => new SGD.ParamGroup(g.Parameters, lr * g.Factor, momentum, 0, g.WeightDecay, nesterov: momentum > 0))],
                lr, momentum, nesterov: momentum > 0),
            _ => optim.AdamW([.. groups.Select(g => new AdamW.ParamGroup(g.Parameters, lr * g.Factor, weight_decay: g.WeightDecay))], lr),
        };
        return (optimizer, [.. groups.Select(g => g.Factor)]);
    }
}
