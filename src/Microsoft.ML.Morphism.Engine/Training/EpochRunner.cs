// One training epoch: batches through augmentation, forward, backward and step, with the divergence rule.
using Microsoft.ML.Morphism.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// Runs the epochs of one <see cref="NetworkTrainer.Train"/> call. Each batch sets the schedule's
/// learning rate, runs in its own dispose scope, steps the optimizer and clamps P-activations. The
/// divergence rule compares each batch loss with a running mean over all batches so far (across
/// epochs, after a warm-up) and checks at the end of every epoch that no weight became non-finite.
/// </summary>
internal sealed class EpochRunner(TrainingRecipe recipe, NetworkModule initialModule, OptimizerHelper initialOptimizer, double[] initialGroupFactors,
    BatchUpload upload, Generator generator, int examples, double chanceLoss)
{
    private const int DivergenceWarmupBatches = 20;
    private NetworkModule _module = initialModule;
    private OptimizerHelper _optimizer = initialOptimizer;
    private double[] _groupFactors = initialGroupFactors;
    private optim.ILearningRateController[] _groups = initialOptimizer.ParamGroups.ToArray(); // read once per optimizer; every batch sets their learning rates
    private int? _lastGrowth;
    // Annealed P-activations (TrainingRecipe.ActivationAnnealEpochs): layer name -> epoch progress at which it was inserted.
    private readonly Dictionary<string, double> _annealed = new(StringComparer.Ordinal);
    private readonly Augmentation _augmentation = new(recipe.ShiftPixels, recipe.HorizontalFlip, generator);
    private readonly Random _shuffle = new(recipe.Seed);
    private readonly long _batchesPerEpoch = (examples + recipe.BatchSize - 1) / recipe.BatchSize;
    private double _runningMean;
    private long _batchesSeen;

    /// <summary>Where and why training diverged.</summary>
    public readonly record struct Divergence(int Batch, string What);

    /// <summary>What one epoch did: its mean loss and accuracy, the last learning rate, and a divergence if it stopped.</summary>
    public readonly record struct Outcome(double Loss, double Accuracy, double LearningRate, long Examples, Divergence? Divergence);

    /// <summary>
    /// Continues on a grown network after epoch <paramref name="epoch"/>: its module and optimizer replace the old ones
    /// (the caller disposes those), the shuffling, augmentation and divergence statistics carry on, the learning-rate
    /// ramp restarts, and <paramref name="insertedActivations"/> anneal from this point.
    /// </summary>
    public void Grow(int epoch, NetworkModule module, OptimizerHelper optimizer, double[] groupFactors, IEnumerable<string> insertedActivations)
    {
        (_module, _optimizer, _groupFactors, _groups, _lastGrowth) = (module, optimizer, groupFactors, optimizer.ParamGroups.ToArray(), epoch);
        Anneal(insertedActivations, epoch);
    }

    /// <summary>Anneals <paramref name="activations"/> (P-activation layers) from epoch progress <paramref name="from"/>, when the recipe asks for it.</summary>
    public void Anneal(IEnumerable<string> activations, double from)
    {
        if (recipe.ActivationAnnealEpochs > 0)
            foreach (var name in activations)
                _annealed[name] = from;
    }

    public Outcome Run(int epoch, ITrainingSet train, TrainingHooks hooks)
    {
        var module = _module;
        var optimizer = _optimizer;
        var groupFactors = _groupFactors;
        module.train();
        double lossSum = 0, lr = 0;
        long correct = 0, seen = 0;
        int batchIndex = 0;
        var phases = hooks.PhaseTimes;
        phases?.Start();
        foreach (var batch in train.Batches(recipe.BatchSize, _shuffle))
        {
            phases?.Lap(TrainingPhase.Data);
            hooks.CancellationToken.ThrowIfCancellationRequested();
            hooks.CheckAlive?.Invoke();
            batchIndex++;
            double progress = (epoch - 1) + Math.Min(1, (batchIndex - 1) / (double)Math.Max(1, _batchesPerEpoch));
            lr = _lastGrowth is null ? recipe.LearningRateAt(progress) : recipe.LearningRateAt(progress, _lastGrowth);
            for (int g = 0; g < _groups.Length; g++)
                _groups[g].LearningRate = lr * groupFactors[g];

            using var scope = NewDisposeScope();
            phases?.Lap(TrainingPhase.Bookkeeping);
            var (x, y) = upload.Upload(batch);
            x = _augmentation.Apply(x);
            phases?.Lap(TrainingPhase.Upload);
            var logits = module.forward(x);
            var loss = nn.functional.cross_entropy(logits, y);
            optimizer.zero_grad();
            loss.backward();
            phases?.Lap(TrainingPhase.ForwardBackward);
            optimizer.step();
            module.ClampActivations();
            if (_annealed.Count > 0)
                CapAnnealed(module, (epoch - 1) + Math.Min(1, batchIndex / (double)Math.Max(1, _batchesPerEpoch)));
            hooks.AfterStep?.Invoke(module);
            phases?.Lap(TrainingPhase.Step);

            double batchLoss = loss.item<float>();
            if (Diverges(batchLoss) is { } what)
                return new Outcome(double.NaN, double.NaN, lr, seen, new Divergence(batchIndex, what));
            _runningMean = _batchesSeen++ == 0 ? batchLoss : 0.95 * _runningMean + 0.05 * batchLoss;
            lossSum += batchLoss * batch.Count;
            correct += logits.argmax(1).eq(y).sum().item<long>();
            seen += batch.Count;
            hooks.BatchCompleted?.Invoke(new BatchProgress(epoch, recipe.MaxEpoch, batchIndex, _batchesPerEpoch, lossSum / seen, (double)correct / seen));
            phases?.Lap(TrainingPhase.Bookkeeping);
        }
        phases?.Lap(TrainingPhase.Data); // the enumerator's last step: end of data, cursor disposed
        if (seen == 0)
            throw new ArgumentException("The training data has no rows.");
        // A step can leave non-finite weights behind a finite loss (the epoch's last step has no next loss to show it).
        if (module.NonFiniteParameter() is { } broken)
            return new Outcome(double.NaN, double.NaN, lr, seen, new Divergence(batchIndex, $"'{broken}' is not finite after the step"));
        return new Outcome(lossSum / seen, (double)correct / seen, lr, seen, null);
    }

    // a ≤ max(0, 1 − (p − p₀)/N) for each annealed activation, p the progress at the end of this step.
    private void CapAnnealed(NetworkModule module, double progress)
    {
        foreach (var (name, from) in _annealed)
            module.CapActivation(name, Math.Max(0, 1 - (progress - from) / recipe.ActivationAnnealEpochs));
    }

    private string? Diverges(double batchLoss)
    {
        if (!double.IsFinite(batchLoss))
            return $"loss is {batchLoss}";
        if (_batchesSeen >= DivergenceWarmupBatches && batchLoss > recipe.DivergenceFactor * _runningMean && batchLoss > chanceLoss)
            return $"loss {batchLoss:G4} is above {recipe.DivergenceFactor}× its running mean {_runningMean:G4}";
        return null;
    }
}
