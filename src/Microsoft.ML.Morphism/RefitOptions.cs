// Options of a morph-and-refit: how long and how fast the child trains, and what it is checked against.
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism;

/// <summary>
/// How a morphed child is refit. Anything left null comes from the parent's stored training recipe,
/// except the learning rate, which defaults to a tenth of the parent's peak, and the warm-up, half an
/// epoch (why: the README's refit notes). <c>MaxEpoch = 0</c> morphs only (scores equal the parent's). A refit never returns a child worse than its parent by construction: the
/// morphed weights are a candidate (epoch 0), the best by validation loss is kept when a validation
/// set is given, and divergence returns the best (or the morphed) weights with a warning.
/// </summary>
public sealed class RefitOptions : ClassifierTrainingOptions
{
    /// <summary>Refit learning rate as a multiple of the parent's peak learning rate when <see cref="ClassifierTrainingOptions.LearningRate"/> is null.</summary>
    public const double DefaultLearningRateFactor = 0.1;

    /// <summary>Warm-up of a refit in epochs when <see cref="ClassifierTrainingOptions.WarmupEpochs"/> is null.</summary>
    public const double DefaultWarmupEpochs = 0.5;

    /// <summary>Rows of the data the morph is verified on (and <c>InsertBatchNorm</c> takes statistics from). Default 256.</summary>
    public int VerificationRows = 256;

    /// <summary>The refit recipe: the parent's, a tenth of its peak learning rate and a half-epoch warm-up, then these options.</summary>
    internal TrainingRecipe ApplyTo(TrainingRecipe parent) =>
        ToRecipe(parent with { LearningRate = parent.LearningRate * DefaultLearningRateFactor, WarmupEpochs = DefaultWarmupEpochs });
}
