// Options of a morph-and-refit: how long and how fast the child trains, and what it is checked against.
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism;

/// <summary>
/// How a morphed child is refit. Anything left null comes from the parent's stored training recipe,
/// except the learning rate, which defaults to a tenth of the parent's peak with a half-epoch warm-up:
/// in a reference run on Fashion-MNIST (SGD + cosine) refitting at 0.6× the parent's peak diverged
/// to chance accuracy while 0.2× improved on the parent. <c>MaxEpoch = 0</c> morphs only (scores
/// equal the parent's). A refit never returns a child worse than its parent by construction: the
/// morphed weights are a candidate (epoch 0), the best by validation loss is kept when a validation
/// set is given, and divergence returns the best (or the morphed) weights with a warning.
/// </summary>
public sealed class RefitOptions
{
    /// <summary>Refit learning rate as a multiple of the parent's peak learning rate when <see cref="LearningRate"/> is null.</summary>
    public const double DefaultLearningRateFactor = 0.1;

    /// <summary>Refit epochs (0 = morph only). Default: the parent's MaxEpoch.</summary>
    public int? MaxEpoch;
    /// <summary>Peak learning rate. Default: 0.1 × the parent's peak.</summary>
    public double? LearningRate;
    /// <summary>Warm-up in epochs. Default 0.5.</summary>
    public double? WarmupEpochs;
    /// <summary>Schedule. Default: the parent's.</summary>
    public LearningRateSchedule? Schedule;
    /// <summary>Optimizer. Default: the parent's.</summary>
    public OptimizerKind? Optimizer;
    /// <summary>Batch size. Default: the parent's.</summary>
    public int? BatchSize;
    /// <summary>Weight decay. Default: the parent's.</summary>
    public double? WeightDecay;
    /// <summary>Learning rate of P-activations' <c>a</c> (the inserted layers' linearity) as a multiple of the others'. Default: the parent's.</summary>
    public double? ActivationLearningRateFactor;
    /// <summary>Shift augmentation. Default: the parent's.</summary>
    public int? ShiftPixels;
    /// <summary>Flip augmentation. Default: the parent's.</summary>
    public bool? HorizontalFlip;
    /// <summary>Validation data (same columns as the training data); the best epoch by validation loss is kept, the morphed weights included.</summary>
    public IDataView? ValidationSet;
    /// <summary>
    /// Keep the refit epoch with the lowest validation loss, the morphed weights (epoch 0) included
    /// (default true). False uses the validation set as a monitor only and keeps the last epoch.
    /// </summary>
    public bool SelectBestValidationEpoch = true;
    /// <summary>Early-stopping patience in epochs. Default: the parent's.</summary>
    public int? EarlyStoppingPatience;
    /// <summary>Seed of the morph's random values and of the refit. Default: the parent's recipe seed.</summary>
    public int? Seed;
    /// <summary>TorchSharp intra-op threads; process-wide in libtorch, so set only when given. Default: unchanged (libtorch starts with the machine's cores).</summary>
    public int? Threads;
    /// <summary>"cpu", "cuda" or "cuda:N" (CUDA untested). Default: the MLContext's GpuDeviceId, else the CPU.</summary>
    public string? Device;
    /// <summary>Called after every refit epoch (epoch 0 = the morphed weights, when a validation set is given).</summary>
    public Action<EpochMetrics>? MetricsCallback;
    /// <summary>Stops the refit within one batch.</summary>
    public CancellationToken CancellationToken;
    /// <summary>Cache decoded features in memory (bounded). Default true.</summary>
    public bool CacheFeatures = true;
    /// <summary>Largest in-memory feature cache. Default 2048 MB.</summary>
    public long FeatureCacheLimitMegabytes = MorphableImageClassifierTrainer.Defaults.FeatureCacheLimitMegabytes;
    /// <summary>Rows of the data the morph is verified on (and <c>InsertBatchNorm</c> takes statistics from). Default 256.</summary>
    public int VerificationRows = 256;

    /// <summary>The refit recipe: the parent's, with these overrides.</summary>
    internal TrainingRecipe ApplyTo(TrainingRecipe parent)
    {
        var recipe = parent with
        {
            MaxEpoch = MaxEpoch ?? parent.MaxEpoch,
            LearningRate = LearningRate ?? parent.LearningRate * DefaultLearningRateFactor,
            WarmupEpochs = WarmupEpochs ?? 0.5,
            Schedule = Schedule ?? parent.Schedule,
            Optimizer = Optimizer ?? parent.Optimizer,
            BatchSize = BatchSize ?? parent.BatchSize,
            WeightDecay = WeightDecay ?? parent.WeightDecay,
            ActivationLearningRateFactor = ActivationLearningRateFactor ?? parent.ActivationLearningRateFactor,
            ShiftPixels = ShiftPixels ?? parent.ShiftPixels,
            HorizontalFlip = HorizontalFlip ?? parent.HorizontalFlip,
            EarlyStoppingPatience = EarlyStoppingPatience ?? parent.EarlyStoppingPatience,
            Seed = Seed ?? parent.Seed,
        };
        recipe.Validate();
        return recipe;
    }
}
