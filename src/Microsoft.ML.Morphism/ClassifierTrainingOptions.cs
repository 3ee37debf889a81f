// The training knobs the trainer and a refit share, declared once and turned into the engine's recipe and run settings in one place.
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism;

/// <summary>
/// What <see cref="MorphableImageClassifierTrainer.Options"/> and <see cref="RefitOptions"/> have in
/// common (public fields, ML.NET style, as in ML.NET's TorchSharp trainers' options base). A recipe
/// field left null takes its default from the derived options: the trainer's documented defaults
/// (<see cref="MorphableImageClassifierTrainer.Defaults"/>), or, for a refit, the parent's stored recipe.
/// </summary>
public abstract class ClassifierTrainingOptions
{
    /// <summary>Optimizer: SGD with Nesterov momentum, or AdamW. Default: SGD (refit: the parent's).</summary>
    public OptimizerKind? Optimizer;
    /// <summary>Peak learning rate. Default 0.05 (refit: 0.1 × the parent's peak).</summary>
    public double? LearningRate;
    /// <summary>SGD momentum. Default 0.9 (refit: the parent's).</summary>
    public double? Momentum;
    /// <summary>Weight decay on conv, dense and skip weights. Default 5e-4 (refit: the parent's).</summary>
    public double? WeightDecay;
    /// <summary>Learning rate of P-activations' <c>a</c> as a multiple of the others'. Default 1 (refit: the parent's).</summary>
    public double? ActivationLearningRateFactor;
    /// <summary>Learning-rate schedule. Default cosine (refit: the parent's).</summary>
    public LearningRateSchedule? Schedule;
    /// <summary>Linear warm-up in epochs. Default 1 (refit: 0.5).</summary>
    public double? WarmupEpochs;
    /// <summary>Examples per optimizer step. Default 64 (refit: the parent's).</summary>
    public int? BatchSize;
    /// <summary>Passes over the data. Default 10 (refit: the parent's; 0 morphs only).</summary>
    public int? MaxEpoch;
    /// <summary>Random shifts of up to this many pixels during training (0 = off). Default 0 (refit: the parent's).</summary>
    public int? ShiftPixels;
    /// <summary>Random left-right flips during training (wrong for digits and text). Default false (refit: the parent's).</summary>
    public bool? HorizontalFlip;
    /// <summary>
    /// Stop early when the validation metric stops improving (<see cref="EarlyStopping"/>: metric, patience, minimum change, as
    /// ML.NET's image trainer's <c>EarlyStoppingCriteria</c>). Default: off (refit: the parent's). Off because the default
    /// schedule is a cosine over <c>MaxEpoch</c> epochs, which gains most in its last, low-learning-rate epochs: a stop in the
    /// middle throws those away, and the best validation epoch is kept anyway (<see cref="SelectBestValidationEpoch"/>).
    /// ML.NET's image trainer turns it on by default because it only trains a classification head on fixed features.
    /// </summary>
    public EarlyStopping? EarlyStoppingCriteria;
    /// <summary>Stop after this many epochs without a lower validation loss: the same as <c>EarlyStoppingCriteria = new EarlyStopping(patience)</c>.</summary>
    [Obsolete("Use EarlyStoppingCriteria = new EarlyStopping(patience), ML.NET's way to say it; setting both is an error.")]
    public int? EarlyStoppingPatience;
    /// <summary>After each growth point of a <c>GrowthSchedule</c>, ramp the learning rate up linearly over this many epochs. Default 0 (refit: the parent's).</summary>
    public double? GrowthRampEpochs;
    /// <summary>Drive each morph-inserted P-activation to the plain activation over this many epochs (0 = off). Default 0 (refit: the parent's).</summary>
    public double? ActivationAnnealEpochs;
    /// <summary>Seed of initialisation, shuffling, augmentation, dropout and a morph's new weights. Default: the MLContext seed, else 0 (refit: the parent's).</summary>
    public int? Seed;

    /// <summary>Data evaluated after every epoch (same columns as the training data); with it, the epoch with the lowest validation loss is kept.</summary>
    public IDataView? ValidationSet;
    /// <summary>
    /// When no <see cref="ValidationSet"/> is given: this share of the training rows, in (0, 1), is held out as the validation set
    /// (ML.NET's name and meaning, as in <c>ImageClassificationTrainer</c>), chosen reproducibly by the seed; null: no split.
    /// Default null for training and refits (every row trains), 0.1 for the growth search (which needs validation rows).
    /// The rows are split after decoding, so <see cref="CacheFeatures"/> must hold them.
    /// </summary>
    public double? ValidationSetFraction;
    /// <summary>
    /// Keep the weights of the epoch with the lowest validation loss (default true; for a refit the
    /// morphed weights compete as epoch 0). False makes the validation set a monitor only and keeps the last epoch.
    /// </summary>
    public bool SelectBestValidationEpoch = true;
    /// <summary>TorchSharp intra-op threads; process-wide in libtorch, so set only when given. Default: unchanged (libtorch starts with the machine's cores).</summary>
    public int? Threads;
    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA untested). Default: the MLContext's GpuDeviceId, else the CPU.</summary>
    public string? Device;
    /// <summary>Stops training (and data reading) within one batch; throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken;
    /// <summary>Called after every epoch with loss, accuracies and seconds (epoch 0 = the starting weights, when they are evaluated).</summary>
    public Action<EpochMetrics>? MetricsCallback;
    /// <summary>Decode the training data once into memory (bounded by <see cref="FeatureCacheLimitMegabytes"/>). Default true.</summary>
    public bool CacheFeatures = true;
    /// <summary>Largest in-memory feature cache; bigger data streams every epoch. Default 2048 MB.</summary>
    public long FeatureCacheLimitMegabytes = MorphableImageClassifierTrainer.Defaults.FeatureCacheLimitMegabytes;

    /// <summary>The one mapping from these options to the engine's recipe: each set field overrides <paramref name="defaults"/>.</summary>
    internal TrainingRecipe ToRecipe(TrainingRecipe defaults)
    {
        var stopping = EarlyStoppingCriteria;
#pragma warning disable CS0618 // the obsolete shim is read here, and only here
        if (EarlyStoppingPatience is { } patience)
        {
            if (stopping is not null)
                throw new ArgumentException("Set EarlyStoppingCriteria or the obsolete EarlyStoppingPatience, not both.");
            stopping = new EarlyStopping(patience);
        }
#pragma warning restore CS0618
        var recipe = defaults with
        {
            Optimizer = Optimizer ?? defaults.Optimizer,
            LearningRate = LearningRate ?? defaults.LearningRate,
            Momentum = Momentum ?? defaults.Momentum,
            WeightDecay = WeightDecay ?? defaults.WeightDecay,
            ActivationLearningRateFactor = ActivationLearningRateFactor ?? defaults.ActivationLearningRateFactor,
            Schedule = Schedule ?? defaults.Schedule,
            WarmupEpochs = WarmupEpochs ?? defaults.WarmupEpochs,
            BatchSize = BatchSize ?? defaults.BatchSize,
            MaxEpoch = MaxEpoch ?? defaults.MaxEpoch,
            ShiftPixels = ShiftPixels ?? defaults.ShiftPixels,
            HorizontalFlip = HorizontalFlip ?? defaults.HorizontalFlip,
            EarlyStoppingPatience = stopping?.Patience ?? defaults.EarlyStoppingPatience,
            EarlyStoppingMetric = stopping?.Metric ?? defaults.EarlyStoppingMetric,
            EarlyStoppingMinDelta = stopping?.MinDelta ?? defaults.EarlyStoppingMinDelta,
            GrowthRampEpochs = GrowthRampEpochs ?? defaults.GrowthRampEpochs,
            ActivationAnnealEpochs = ActivationAnnealEpochs ?? defaults.ActivationAnnealEpochs,
            Seed = Seed ?? defaults.Seed,
        };
        recipe.Validate();
        return recipe;
    }

    /// <summary>The one mapping from these options to a run's settings (device, threads, data caching, callbacks).</summary>
    internal TrainingRun.Settings ToRunSettings(bool refit) =>
        new(Threads, Device, CacheFeatures, FeatureCacheLimitMegabytes, MetricsCallback, refit, SelectBestValidationEpoch,
            ValidationSet is null ? ValidationSetFraction : null, CancellationToken);
}
