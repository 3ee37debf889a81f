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
        var (created, groupFactors) = CreateOptimizer(module);
        using var optimizer = created;
        using var upload = new BatchUpload(network.Input, _device);
        var epochs = new EpochRunner(_recipe, module, optimizer, groupFactors, upload, generator, train.Count,
            chanceLoss: Math.Log(Math.Max(2, network.Output.Size)));
        var history = new List<EpochMetrics>();
        var run = Stopwatch.StartNew();
        long macs = 0;
        long trainMacs = network.TrainingMacsPerImage, forwardMacs = network.ForwardMacs;
        var selection = new EpochSelection(hooks.SelectBestValidationEpoch, _recipe.EarlyStoppingPatience);

        if (hooks.StartingWeightsAreACandidate)
        {
            // The starting weights compete with every epoch; with a validation set they are measured as epoch 0.
            double? loss = null;
            if (validation is not null)
            {
                var start = Stopwatch.StartNew();
                var (validationLoss, accuracy) = Evaluate(module, validation, upload, hooks.CancellationToken);
                macs += forwardMacs * validation.Count;
                Report(hooks, history, new EpochMetrics(0, double.NaN, double.NaN, validationLoss, accuracy, 0, start.Elapsed.TotalSeconds, 0)
                    { CumulativeMacs = macs, CumulativeSeconds = run.Elapsed.TotalSeconds });
                loss = validationLoss;
            }
            selection.Start(weights.ToPrecision(Precision.Float32), loss);
        }

        for (int epoch = 1; epoch <= _recipe.MaxEpoch; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var outcome = epochs.Run(epoch, train, hooks);
            if (outcome.Divergence is { } divergence)
                return Diverged(hooks, history, selection, validation is not null, epoch, divergence);

            var (validationLoss, validationAccuracy) = validation is null ? (null as double?, null as double?) : Evaluate(module, validation, upload, hooks.CancellationToken);
            macs += trainMacs * outcome.Examples + (validation is null ? 0 : forwardMacs * validation.Count);
            var metrics = new EpochMetrics(epoch, outcome.Loss, outcome.Accuracy, validationLoss, validationAccuracy, outcome.LearningRate, clock.Elapsed.TotalSeconds, outcome.Examples)
                { CumulativeMacs = macs, CumulativeSeconds = run.Elapsed.TotalSeconds };
            if (hooks.MonitorSet is { } monitor)
            {
                run.Stop(); // a monitor is not part of the run's cost
                metrics = metrics with { MonitorAccuracy = Evaluate(module, monitor, upload, hooks.CancellationToken).Accuracy };
                run.Start();
            }
            Report(hooks, history, metrics);
            if (validationLoss is { } vl && selection.Offer(epoch, vl, module) is { } stop)
            {
                hooks.Log?.Invoke(stop.Message);
                return new TrainingResult(stop.Weights ?? module.ReadWeights(), history, StopReason.EarlyStopped, stop.Message, stop.Epoch);
            }
        }

        if (validation is not null && selection.Best is not null && hooks.SelectBestValidationEpoch)
            return new TrainingResult(selection.Best, history, StopReason.Completed, null, selection.BestEpoch);
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

    private TrainingResult Diverged(TrainingHooks hooks, List<EpochMetrics> history, EpochSelection selection, bool hasValidation, int epoch, EpochRunner.Divergence divergence)
    {
        if (!hooks.StartingWeightsAreACandidate || selection.Best is null)
            throw new TrainingDivergedException($"Training diverged at epoch {epoch}, batch {divergence.Batch}: {divergence.What}. Lower the learning rate (now peak {_recipe.LearningRate}) or check the data for NaN/infinite values.", epoch, divergence.Batch);
        var kept = hasValidation ? $"keeping epoch {selection.BestEpoch}, the best by validation loss" : "keeping the starting (morphed, parent-equivalent) weights";
        var message = $"Refit diverged at epoch {epoch}, batch {divergence.Batch}: {divergence.What}; {kept}. Lower the refit learning rate (peak {_recipe.LearningRate}).";
        hooks.Log?.Invoke(message);
        return new TrainingResult(selection.Best, history, StopReason.Diverged, message, selection.BestEpoch);
    }

    private static void Report(TrainingHooks hooks, List<EpochMetrics> history, EpochMetrics metrics)
    {
        history.Add(metrics);
        hooks.EpochCompleted?.Invoke(metrics);
        hooks.Log?.Invoke(metrics.Epoch == 0
            ? $"epoch 0 (starting weights): validation loss {metrics.ValidationLoss:F4}, accuracy {metrics.ValidationAccuracy:P2}"
            : $"epoch {metrics.Epoch}: loss {metrics.TrainLoss:F4}, train accuracy {metrics.TrainAccuracy:P2}"
              + (metrics.ValidationLoss is { } vl ? $", validation loss {vl:F4}, accuracy {metrics.ValidationAccuracy:P2}" : "")
              + $", lr {metrics.LearningRate:G3}, {metrics.Seconds:F1}s; run so far {metrics.CumulativeMacs:0.00e+00} MACs, {metrics.CumulativeSeconds:F1}s");
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
