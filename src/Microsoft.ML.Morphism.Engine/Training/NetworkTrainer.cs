// The training loop: mini-batch SGD/Adam over an ITrainingSet with schedule, augmentation, validation and stopping rules.
using System.Diagnostics;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Morphs;
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
    /// <param name="network">The network to train.</param>
    /// <param name="weights">Its starting weights.</param>
    /// <param name="train">The training data.</param>
    /// <param name="validation">Validation data, or null.</param>
    /// <param name="hooks">Callbacks and controls.</param>
    /// <param name="growth">
    /// Growth points, or null for a run on a fixed network. After each point's epoch the network is morphed by its plan
    /// (on the current weights; a <c>bn</c> step takes its statistics from the first training rows), verified on those
    /// rows in eval mode (max relative logit error at most 1e-5 for one morph, 1e-4 for several, and the margin rule;
    /// otherwise an <see cref="InvalidOperationException"/> stops the run), and training continues on the grown network:
    /// the optimizer state is carried by each morph's rule (<see cref="MorphStep.CarryState"/>), the parameter groups are
    /// rebuilt by the same rules, the learning-rate schedule continues over <see cref="TrainingRecipe.MaxEpoch"/> with no
    /// new warm-up (optionally a ramp, <see cref="TrainingRecipe.GrowthRampEpochs"/>), and the epochs' cumulative MACs
    /// use the grown network's cost from then on, plus the verification's forward passes. With Adam, a growing run uses
    /// a per-entry step count (new entries start at 0). Every point must come before the last epoch.
    /// </param>
    public TrainingResult Train(NetworkDescription network, NetworkWeights weights, ITrainingSet train, ITrainingSet? validation = null, TrainingHooks? hooks = null,
        GrowthSchedule? growth = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        hooks ??= new TrainingHooks();
        int featureSize = checked((int)network.Input.Size);
        if (train.FeatureSize != featureSize || (validation is not null && validation.FeatureSize != featureSize))
            throw new ArgumentException($"The network takes {featureSize} values per example but the data has {train.FeatureSize}.");
        growth?.Validate(_recipe.MaxEpoch);

        var module = new NetworkModule(network, weights.ToPrecision(Precision.Float32), _device);
        OptimizerHelper? optimizer = null;
        try
        {
            using var generator = new Generator((ulong)_recipe.Seed, _device);
            module.RandomSource = generator;
            (optimizer, var groupFactors) = CreateOptimizer(_recipe, module);
            using var upload = new BatchUpload(network.Input, _device);
            var epochs = new EpochRunner(_recipe, module, optimizer, groupFactors, upload, generator, train.Count,
                chanceLoss: Math.Log(Math.Max(2, network.Output.Size)));
            epochs.Anneal(InsertedActivations(network), from: 0);
            var history = new List<EpochMetrics>();
            var events = new List<GrowthEvent>();
            var run = Stopwatch.StartNew();
            long macs = 0;
            long trainMacs = network.TrainingMacsPerImage, forwardMacs = network.ForwardMacs;
            var selection = new EpochSelection(hooks.SelectBestValidationEpoch, _recipe.EarlyStoppingPatience, _recipe.EarlyStoppingMetric, _recipe.EarlyStoppingMinDelta);
            TrainingResult Result(NetworkWeights kept, StopReason reason, string? message, int selected) =>
                new(kept, history, reason, message, selected) { Network = network, Growth = events };

            if (hooks.StartingWeightsAreACandidate)
            {
                // The starting weights compete with every epoch; with a validation set they are measured as epoch 0.
                double? loss = null, startAccuracy = null;
                if (validation is not null)
                {
                    var start = Stopwatch.StartNew();
                    var (validationLoss, accuracy) = Evaluate(module, validation, upload, hooks.CancellationToken);
                    macs += forwardMacs * validation.Count;
                    Report(hooks, history, new EpochMetrics(0, double.NaN, double.NaN, validationLoss, accuracy, 0, start.Elapsed.TotalSeconds, 0)
                        { CumulativeMacs = macs, CumulativeSeconds = run.Elapsed.TotalSeconds });
                    (loss, startAccuracy) = (validationLoss, accuracy);
                }
                selection.Start(weights.ToPrecision(Precision.Float32), loss, startAccuracy);
            }

            for (int epoch = 1; epoch <= _recipe.MaxEpoch; epoch++)
            {
                var clock = Stopwatch.StartNew();
                var outcome = epochs.Run(epoch, train, hooks);
                if (outcome.Divergence is { } divergence)
                    return Diverged(hooks, selection, validation is not null, epoch, divergence, Result);

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
                if (validationLoss is { } vl && selection.Offer(epoch, vl, validationAccuracy ?? 0, module) is { } stop)
                {
                    hooks.Log?.Invoke(stop.Message);
                    return Result(stop.Weights ?? module.ReadWeights(), StopReason.EarlyStopped, stop.Message, stop.Epoch);
                }

                if (growth?.PlanAfter(epoch) is { } plan)
                {
                    var grown = Grow(epoch, plan, network, module, optimizer, selection, train, hooks);
                    (var oldModule, var oldOptimizer, var parent) = (module, optimizer, network);
                    (network, module, optimizer) = (grown.Network, grown.Module, grown.Optimizer);
                    oldOptimizer.Dispose();
                    oldModule.Dispose();
                    module.RandomSource = generator;
                    epochs.Grow(epoch, module, optimizer, grown.GroupFactors, InsertedActivations(network).Except(InsertedActivations(parent)));
                    events.Add(grown.Event);
                    macs += grown.Event.VerificationMacs;
                    (trainMacs, forwardMacs) = (network.TrainingMacsPerImage, network.ForwardMacs);
                }
            }

            if (validation is not null && selection.Best is not null && hooks.SelectBestValidationEpoch)
                return Result(selection.Best, StopReason.Completed, null, selection.BestEpoch);
            return Result(module.ReadWeights(), StopReason.Completed, null, _recipe.MaxEpoch);
        }
        finally
        {
            optimizer?.Dispose();
            module.Dispose();
        }
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

    private TrainingResult Diverged(TrainingHooks hooks, EpochSelection selection, bool hasValidation, int epoch, EpochRunner.Divergence divergence,
        Func<NetworkWeights, StopReason, string?, int, TrainingResult> result)
    {
        if (!hooks.StartingWeightsAreACandidate || selection.Best is null)
            throw new TrainingDivergedException($"Training diverged at epoch {epoch}, batch {divergence.Batch}: {divergence.What}. Lower the learning rate (now peak {_recipe.LearningRate}) or check the data for NaN/infinite values.", epoch, divergence.Batch);
        var kept = hasValidation ? $"keeping epoch {selection.BestEpoch}, the best by validation loss" : "keeping the starting (morphed, parent-equivalent) weights";
        var message = $"Refit diverged at epoch {epoch}, batch {divergence.Batch}: {divergence.What}; {kept}. Lower the refit learning rate (peak {_recipe.LearningRate}).";
        hooks.Log?.Invoke(message);
        return result(selection.Best, StopReason.Diverged, message, selection.BestEpoch);
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

    /// <summary>
    /// The optimizer, and each of its parameter groups' learning rate as a multiple of the schedule's: <see cref="HeldScalarSgd"/>
    /// or <see cref="GrowingAdamW"/> (one step count per entry once a growth adds entries), each stepping as TorchSharp's own
    /// SGD and AdamW do, operation for operation, but with held Scalars.
    /// </summary>
    internal static (OptimizerHelper Optimizer, double[] GroupFactors) CreateOptimizer(TrainingRecipe recipe, NetworkModule module)
    {
        // Weight decay applies to conv, dense and skip weights only: decaying biases, BatchNorm or a
        // P-activation's a would pull the network away from what the parent learned for no benefit.
        // A P-activation's a is one scalar per layer with a small gradient: it gets its own learning-rate factor.
        var all = module.named_parameters().ToList();
        bool IsLinearity((string name, Parameter parameter) p) => p.name.EndsWith(".a", StringComparison.Ordinal);
        var decayed = all.Where(p => p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var other = all.Where(p => p.parameter.dim() < 2 && !IsLinearity(p)).Select(p => p.parameter).ToList();
        var linearity = all.Where(IsLinearity).Select(p => p.parameter).ToList();
        double lr = recipe.LearningRate, momentum = recipe.Momentum;
        var groups = new List<(List<Parameter> Parameters, double WeightDecay, double Factor)>
        {
            (decayed, recipe.WeightDecay, 1), (other, 0, 1), (linearity, 0, recipe.ActivationLearningRateFactor),
        };
        groups.RemoveAll(g => g.Parameters.Count == 0);
        OptimizerHelper optimizer = recipe.Optimizer switch
        {
            // Both step with held Scalars (HeldScalars): TorchSharp's own steps can read Scalars a collector already freed.
            OptimizerKind.Sgd => new HeldScalarSgd(
                [.. groups.Select(g => new SGD.ParamGroup(g.Parameters, lr * g.Factor, momentum, 0, g.WeightDecay, nesterov: momentum > 0))],
                lr, momentum, nesterov: momentum > 0),
            _ => new GrowingAdamW([.. groups.Select(g => new AdamW.ParamGroup(g.Parameters, lr * g.Factor, weight_decay: g.WeightDecay))], lr),
        };
        return (optimizer, [.. groups.Select(g => g.Factor)]);
    }

    /// <summary>P-activations a morph inserted (marked as morphed): what <see cref="TrainingRecipe.ActivationAnnealEpochs"/> anneals.</summary>
    private static IEnumerable<string> InsertedActivations(NetworkDescription network) =>
        network.AllLayers().OfType<ActivationLayer>().Where(a => a.Parametric && a.Morphed).Select(a => a.Name);

    private sealed record Grown(NetworkDescription Network, NetworkModule Module, OptimizerHelper Optimizer, double[] GroupFactors, GrowthEvent Event);

    /// <summary>One growth point: morph the current weights, verify, carry the optimizer state, carry the kept weights.</summary>
    private Grown Grow(int epoch, MorphPlan plan, NetworkDescription parent, NetworkModule module, OptimizerHelper optimizer, EpochSelection selection,
        ITrainingSet train, TrainingHooks hooks)
    {
        var clock = Stopwatch.StartNew();
        var parentWeights = module.ReadWeights();
        var parentStates = OptimizerStateTransfer.Read(optimizer, module);
        var sample = Sample(train, parent.Input);
        var context = new MorphContext(_recipe.Seed, sample).ForStep(epoch);
        MorphChainOutcome chain;
        try
        {
            chain = plan.Apply(parent, parentWeights, context);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Growth after epoch {epoch} ('{plan}') cannot be applied to the network: {e.Message}", e);
        }
        var steps = string.Join(" ", chain.Steps.Select(s => s.Step));
        var report = MorphVerifier.Verify(parent, parentWeights, chain, inputs: sample, seed: _recipe.Seed, device: _device);
        double bound = chain.Steps.Length == 1 ? ExactStepBound : ExactChainBound;
        if (!(report.MaxRelError <= bound) || !report.PredictionsAgree)
            throw new InvalidOperationException($"Growth after epoch {epoch} is not exact: '{steps}' moved the logits by {report.MaxRelError:0.00e+00} relative " +
                $"(max abs {report.MaxAbsError:0.00e+00}) on {report.Inputs} training rows, above the {bound:0e+00} bound of an exact morph" +
                (report.PredictionsAgree ? "" : $", and {report.MarginInputs - report.AgreeingInputs} prediction(s) outside the error margin changed") +
                "; training stopped at the growth point.");

        var childStates = chain.CarryState(parentStates, parent);
        var childModule = new NetworkModule(chain.Network, chain.Weights, _device);
        try
        {
            var (childOptimizer, factors) = CreateOptimizer(_recipe, childModule);
            OptimizerStateTransfer.Write(childOptimizer, childModule, childStates);
            var applied = new MorphPlan(chain.Steps.Select(s => s.Step));
            selection.Grow((kept, keptEpoch) => keptEpoch == epoch ? chain.Weights : Carry(applied, parent, kept, context, chain.Network, epoch));
            long verificationMacs = (parent.ForwardMacs + chain.Network.ForwardMacs) * report.Inputs;
            var growthEvent = new GrowthEvent(epoch, steps, parent.ForwardMacs, chain.Network.ForwardMacs, report.MaxRelError, clock.Elapsed.TotalSeconds,
                verificationMacs, report);
            hooks.Log?.Invoke($"growth after epoch {epoch}: {steps}; forward MACs per image {parent.ForwardMacs:N0} -> {chain.Network.ForwardMacs:N0}, " +
                $"parameters {parent.ParameterCount:N0} -> {chain.Network.ParameterCount:N0}; verified on {report.Inputs} training rows, max rel logit error " +
                $"{report.MaxRelError:0.00e+00}; {growthEvent.Seconds:F2}s");
            hooks.GrowthApplied?.Invoke(new GrowthSnapshot(epoch, parent, parentWeights, parentStates, chain, childModule, childOptimizer));
            return new Grown(chain.Network, childModule, childOptimizer, factors, growthEvent);
        }
        catch
        {
            childModule.Dispose();
            throw;
        }
    }

    /// <summary>fp32 bounds of network-morphism.md on the max relative logit error: one exact morph, a chain of morphs.</summary>
    private const double ExactStepBound = 1e-5, ExactChainBound = 1e-4;

    // Weights kept from an earlier epoch, morphed by the same (as applied) steps and context: the same function on the grown network.
    private static NetworkWeights Carry(MorphPlan applied, NetworkDescription parent, NetworkWeights kept, MorphContext context, NetworkDescription grown, int epoch)
    {
        var carried = applied.Apply(parent, kept, context);
        if (carried.Network.ToString() != grown.ToString())
            throw new InvalidOperationException($"Growth after epoch {epoch}: the weights kept from an earlier epoch grew into another network than the current ones.");
        return carried.Weights;
    }

    /// <summary>The first (up to 64) training rows in stored order, shaped [N, ...input]: the growth's verification inputs and BatchNorm statistics.</summary>
    private static WeightTensor Sample(ITrainingSet train, TensorShape input)
    {
        var batch = train.Batches(64, shuffle: null).FirstOrDefault()
            ?? throw new ArgumentException("The training data has no rows.");
        var values = new double[batch.Count * batch.FeatureSize];
        for (int i = 0; i < values.Length; i++)
            values[i] = batch.Features[i];
        return new WeightTensor(input.WithBatch(batch.Count), values);
    }
}
