// How a network is trained: optimizer, learning-rate schedule, regularisation, augmentation and stopping rules.
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Training;

/// <summary>The optimizers the trainer offers.</summary>
public enum OptimizerKind
{
    /// <summary>SGD with (Nesterov) momentum and L2 weight decay (the default).</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay (AdamW).</summary>
    Adam,
}

/// <summary>How the learning rate moves over training.</summary>
public enum LearningRateSchedule
{
    /// <summary>Linear warm-up to the peak, then a half-cosine decay to zero at the end of the last epoch.</summary>
    Cosine,
    /// <summary>Linear warm-up to the peak, then constant.</summary>
    Constant,
}

/// <summary>What early stopping watches on the validation set.</summary>
public enum EarlyStoppingMetric
{
    /// <summary>The validation loss (mean cross-entropy); an improvement is a fall (the default).</summary>
    ValidationLoss,
    /// <summary>The validation accuracy (a fraction); an improvement is a rise.</summary>
    ValidationAccuracy,
}

/// <summary>
/// Everything that decides how training runs, stored with a model so that a morphed child can be
/// refit the way its parent was trained. Defaults are the recipe that made morphing pay off on
/// Fashion-MNIST: SGD + Nesterov momentum 0.9, cosine decay with a one-epoch warm-up, weight decay
/// 5e-4 on conv/dense weights; augmentation is off by default (flips are wrong for digits or text).
/// </summary>
public sealed record TrainingRecipe
{
    /// <summary>Optimizer (default SGD with momentum).</summary>
    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;

    /// <summary>Peak learning rate (default 0.05 for SGD; 1e-3 is typical for Adam).</summary>
    public double LearningRate { get; init; } = 0.05;

    /// <summary>SGD momentum (Nesterov); ignored by Adam.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Weight decay on conv, dense and skip weights (biases, BatchNorm and P-activation a are not decayed).</summary>
    public double WeightDecay { get; init; } = 5e-4;

    /// <summary>
    /// The learning rate of every P-activation's <c>a</c> as a multiple of the others' (default 1). Each <c>a</c> is
    /// one scalar with a small gradient, so at a refit's learning rate it moves slowly from 1 and an inserted layer
    /// stays nearly linear; a larger factor lets it become non-linear sooner (measurements: the README's study).
    /// </summary>
    public double ActivationLearningRateFactor { get; init; } = 1;

    /// <summary>Learning-rate schedule (default cosine).</summary>
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.Cosine;

    /// <summary>Linear warm-up length in epochs (fractions allowed; default 1, capped at half the run).</summary>
    public double WarmupEpochs { get; init; } = 1;

    /// <summary>Examples per optimizer step.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Passes over the training data.</summary>
    public int MaxEpoch { get; init; } = 10;

    /// <summary>Random translation of each training image by up to this many pixels (zero fill); 0 = off.</summary>
    public int ShiftPixels { get; init; }

    /// <summary>Mirror each training image left-right with probability ½.</summary>
    public bool HorizontalFlip { get; init; }

    /// <summary>
    /// Stop after this many epochs in a row without an improvement of <see cref="EarlyStoppingMetric"/> by more than
    /// <see cref="EarlyStoppingMinDelta"/> (needs a validation set); null = never.
    /// </summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>What early stopping watches on the validation set (default: its loss). Not written to JSON when default.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public EarlyStoppingMetric EarlyStoppingMetric { get; init; }

    /// <summary>
    /// The least change of <see cref="EarlyStoppingMetric"/> that counts as an improvement (loss: a fall, accuracy: a rise, as a
    /// fraction); default 0. Not written to JSON when 0.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double EarlyStoppingMinDelta { get; init; }

    /// <summary>True when the early-stopping rule uses more than version-2/3 recipes could say (a metric or a minimum change).</summary>
    [JsonIgnore]
    public bool HasEarlyStoppingCriteria => EarlyStoppingMetric != EarlyStoppingMetric.ValidationLoss || EarlyStoppingMinDelta != 0;

    /// <summary>
    /// Divergence rule: a batch loss above this multiple of the running mean loss (after the first
    /// 20 batches), or a non-finite loss, stops training.
    /// </summary>
    public double DivergenceFactor { get; init; } = 5;

    /// <summary>Seed of shuffling, augmentation and dropout (same seed, data and threads → same weights).</summary>
    public int Seed { get; init; }

    /// <summary>
    /// A learning-rate ramp after each growth point of a growing run (<see cref="GrowthSchedule"/>), in epochs (fractions
    /// allowed; default 0 = none). The schedule itself continues over the whole run — no new warm-up; the ramp multiplies
    /// it by (p − N)/R for epoch progress p in [N, N + R) after the growth at epoch N (at least 1e-3, as the warm-up).
    /// Not written to JSON when 0, so recipes without it serialise as before.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double GrowthRampEpochs { get; init; }

    /// <summary>
    /// Anneals every P-activation a morph inserted toward the plain activation over this many epochs (default 0 = off).
    /// After each optimizer step (after the clamp into [0, 1]) each such a is clamped to at most
    /// max(0, 1 − (p − p₀)/N), where N is this value, p the epoch progress at the end of the step (epoch − 1 + batches
    /// done / batches per epoch) and p₀ the progress at which the activation was inserted: the growth point's epoch for a
    /// growth inside the run, 0 for activations already marked as morphed when the run starts (a refit after a morph).
    /// So after N epochs the inserted layer is fully non-linear (a = 0), whatever the gradient of a does; before that,
    /// a is free to go lower. P-activations of the original architecture are not touched. Not written to JSON when 0.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public double ActivationAnnealEpochs { get; init; }

    /// <summary>The most epochs a recipe may ask for (MaxEpoch, and any setting counted in epochs).</summary>
    public const int MaxEpochLimit = 100_000;

    /// <summary>The largest batch a recipe may ask for.</summary>
    public const int MaxBatchSize = 65_536;

    /// <summary>The largest random translation a recipe may ask for, in pixels.</summary>
    public const int MaxShiftPixels = 1_024;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first setting out of range. Also run on every recipe a model
    /// file holds, so a forged one (weight decay ∞, a batch of int.MaxValue) is refused at load.
    /// </summary>
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"LearningRate must be positive (got {LearningRate}).");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"Momentum must be in [0, 1) (got {Momentum}).");
        if (!(WeightDecay >= 0 && WeightDecay <= 1)) throw new ArgumentException($"WeightDecay must be in [0, 1] (got {WeightDecay}).");
        if (!(ActivationLearningRateFactor > 0) || !double.IsFinite(ActivationLearningRateFactor))
            throw new ArgumentException($"ActivationLearningRateFactor must be positive (got {ActivationLearningRateFactor}).");
        if (!(WarmupEpochs >= 0 && WarmupEpochs <= MaxEpochLimit)) throw new ArgumentException($"WarmupEpochs must be in [0, {MaxEpochLimit:N0}] (got {WarmupEpochs}).");
        if (BatchSize is <= 0 or > MaxBatchSize) throw new ArgumentException($"BatchSize must be in [1, {MaxBatchSize:N0}] (got {BatchSize}).");
        if (MaxEpoch is < 0 or > MaxEpochLimit) throw new ArgumentException($"MaxEpoch must be in [0, {MaxEpochLimit:N0}] (got {MaxEpoch}).");
        if (ShiftPixels is < 0 or > MaxShiftPixels) throw new ArgumentException($"ShiftPixels must be in [0, {MaxShiftPixels:N0}] (got {ShiftPixels}).");
        if (EarlyStoppingPatience is <= 0 or > MaxEpochLimit) throw new ArgumentException($"EarlyStoppingPatience must be in [1, {MaxEpochLimit:N0}] (got {EarlyStoppingPatience}).");
        if (!Enum.IsDefined(EarlyStoppingMetric)) throw new ArgumentException($"EarlyStoppingMetric {EarlyStoppingMetric} is not a metric early stopping knows.");
        if (!(EarlyStoppingMinDelta >= 0) || !double.IsFinite(EarlyStoppingMinDelta)) throw new ArgumentException($"EarlyStoppingMinDelta must not be negative (got {EarlyStoppingMinDelta}).");
        if (!(GrowthRampEpochs >= 0 && GrowthRampEpochs <= MaxEpochLimit)) throw new ArgumentException($"GrowthRampEpochs must be in [0, {MaxEpochLimit:N0}] (got {GrowthRampEpochs}).");
        if (!(ActivationAnnealEpochs >= 0 && ActivationAnnealEpochs <= MaxEpochLimit)) throw new ArgumentException($"ActivationAnnealEpochs must be in [0, {MaxEpochLimit:N0}] (got {ActivationAnnealEpochs}).");
        if (!(DivergenceFactor > 1) || !double.IsFinite(DivergenceFactor)) throw new ArgumentException($"DivergenceFactor must be above 1 and finite (got {DivergenceFactor}).");
    }

    /// <summary>
    /// The learning rate at a point of a growing run: <see cref="LearningRateAt(double)"/> times the ramp after the
    /// last growth point (<see cref="GrowthRampEpochs"/>); <paramref name="lastGrowth"/> is its epoch, or null before any.
    /// </summary>
    public double LearningRateAt(double epochProgress, int? lastGrowth)
    {
        double lr = LearningRateAt(epochProgress);
        if (lastGrowth is not { } growth || GrowthRampEpochs <= 0 || epochProgress >= growth + GrowthRampEpochs)
            return lr;
        return lr * Math.Max(epochProgress - growth, 1e-3 * GrowthRampEpochs) / GrowthRampEpochs;
    }

    /// <summary>The learning rate at a point of training (epoch progress in [0, MaxEpoch]).</summary>
    public double LearningRateAt(double epochProgress)
    {
        double warmup = Math.Min(WarmupEpochs, MaxEpoch / 2.0);
        if (warmup > 0 && epochProgress < warmup)
            return LearningRate * Math.Max(epochProgress, 1e-3 * warmup) / warmup;
        if (Schedule == LearningRateSchedule.Constant || MaxEpoch <= warmup)
            return LearningRate;
        double t = Math.Clamp((epochProgress - warmup) / (MaxEpoch - warmup), 0, 1);
        return LearningRate * 0.5 * (1 + Math.Cos(Math.PI * t));
    }
}
