// The settings of one growth search (NASH-style hill climbing over morphs): budget, cost limits, round shape, seed.
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Search;

/// <summary>
/// How a <see cref="GrowthSearch"/> runs. Every round makes <see cref="ChildrenPerRound"/> children of the
/// incumbent, each by 1 to <see cref="MaxMorphsPerChild"/> random morphs of the <see cref="AllowedMorphs"/>
/// kinds; each child inherits the incumbent's weights (exactly, by the morphs) and trains
/// <see cref="EpochsPerTrial"/> epochs on a short cosine cycle, the incumbent too; the best by validation
/// accuracy becomes the next incumbent. When the next round no longer fits in the search's share of the
/// budget, the rest of the budget trains the winner. At least one of <see cref="MacBudget"/>,
/// <see cref="MaxTrials"/> and <see cref="TimeBudget"/> is required; the first two are deterministic.
/// </summary>
public sealed record GrowthSearchSettings
{
    /// <summary>The training recipe every phase starts from (optimizer, peak learning rate, batch, augmentation, seed); its epochs and warm-up are set per phase.</summary>
    public TrainingRecipe Recipe { get; init; } = new();

    /// <summary>
    /// Epochs that train the starting network before the first round (one cosine cycle), for a search that starts
    /// from initial weights; 0 when the starting weights are already trained (e.g. a saved model). Charged to the budget.
    /// </summary>
    public int InitialEpochs { get; init; }

    /// <summary>
    /// Peak learning rate of each trial's short cosine cycle (children and incumbent). Null (default): the recipe's peak,
    /// as NASH restarts every cycle at the full rate. A lower peak disturbs the inherited weights less (the study's ablation).
    /// </summary>
    public double? TrialLearningRate { get; init; }

    /// <summary>K: children per round (NASH: 8; default 4).</summary>
    public int ChildrenPerRound { get; init; } = 4;

    /// <summary>E: epochs each trial trains, children and incumbent alike (default 1).</summary>
    public int EpochsPerTrial { get; init; } = 1;

    /// <summary>Each child applies between 1 and this many random morphs (default 2).</summary>
    public int MaxMorphsPerChild { get; init; } = 2;

    /// <summary>The morph kinds children are made with (default: all of them).</summary>
    public IReadOnlyList<SearchMorph> AllowedMorphs { get; init; } = Enum.GetValues<SearchMorph>();

    /// <summary>
    /// The whole search's budget in training MACs (see <see cref="Networks.NetworkDescription.TrainingMacsPerImage"/>):
    /// initial training, every trial's training and validation, morph verification and solver, and the final training.
    /// </summary>
    public long? MacBudget { get; init; }

    /// <summary>The largest number of child trials (incumbent re-trainings not counted).</summary>
    public int? MaxTrials { get; init; }

    /// <summary>Wall-clock budget of the whole search; unlike the other two it makes the result depend on the machine.</summary>
    public TimeSpan? TimeBudget { get; init; }

    /// <summary>The share of the MAC or time budget kept for training the winner (default 0.25).</summary>
    public double FinalTrainingFraction { get; init; } = 0.25;

    /// <summary>
    /// Epochs that train the winner after the search. Null: as many as the rest of the MAC or time budget pays for,
    /// or, with only <see cref="MaxTrials"/>, 2 × <see cref="EpochsPerTrial"/>.
    /// </summary>
    public int? FinalEpochs { get; init; }

    /// <summary>Children whose trainable parameters would exceed this are not made (deployment cost).</summary>
    public long? MaxParameters { get; init; }

    /// <summary>Children whose forward MACs per image would exceed this are not made (deployment cost).</summary>
    public long? MaxMacsPerImage { get; init; }

    /// <summary>
    /// True (default): children inherit the incumbent's weights through the morphs (the growth search). False:
    /// random search over the same morph space, every child starting from fresh initial weights (the baseline).
    /// </summary>
    public bool InheritWeights { get; init; } = true;

    /// <summary>
    /// Shrink-and-perturb (Ash and Adams, 2020) after each morph: every conv, dense and skip weight and bias becomes
    /// <c>Shrink · w + Perturb · w₀</c>, with w₀ fresh initial weights. Null (default): off, the child is exact.
    /// </summary>
    public (double Shrink, double Perturb)? ShrinkAndPerturb { get; init; }

    /// <summary>Largest relative logit error a morphed child may show in its verification; a worse child is discarded (default 1e-3).</summary>
    public double MaxMorphError { get; init; } = 1e-3;

    /// <summary>Inputs each morph is verified on (validation images; default 32).</summary>
    public int VerificationInputs { get; init; } = 32;

    /// <summary>Lineage entries kept (older children that never became incumbents are dropped first beyond it; default 2,000).</summary>
    public int MaxLineageEntries { get; init; } = 2_000;

    /// <summary>Seed of the morph choices, the new weights and every trial's shuffling.</summary>
    public int Seed { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Recipe);
        Recipe.Validate();
        if (MacBudget is null && MaxTrials is null && TimeBudget is null)
            throw new ArgumentException("The growth search needs a budget: set MacBudget, MaxTrials or TimeBudget.");
        if (MacBudget is <= 0) throw new ArgumentException($"MacBudget must be positive (got {MacBudget}).");
        if (MaxTrials is < 0) throw new ArgumentException($"MaxTrials must not be negative (got {MaxTrials}).");
        if (TimeBudget is { } t && t <= TimeSpan.Zero) throw new ArgumentException($"TimeBudget must be positive (got {t}).");
        if (InitialEpochs < 0) throw new ArgumentException($"InitialEpochs must not be negative (got {InitialEpochs}).");
        if (ChildrenPerRound is < 1 or > 64) throw new ArgumentException($"ChildrenPerRound must be in [1, 64] (got {ChildrenPerRound}).");
        if (EpochsPerTrial is < 1 or > 1000) throw new ArgumentException($"EpochsPerTrial must be in [1, 1000] (got {EpochsPerTrial}).");
        if (MaxMorphsPerChild is < 1 or > 16) throw new ArgumentException($"MaxMorphsPerChild must be in [1, 16] (got {MaxMorphsPerChild}).");
        if (AllowedMorphs is null || AllowedMorphs.Count == 0) throw new ArgumentException("AllowedMorphs must name at least one morph kind.");
        if (!(FinalTrainingFraction >= 0 && FinalTrainingFraction < 1)) throw new ArgumentException($"FinalTrainingFraction must be in [0, 1) (got {FinalTrainingFraction}).");
        if (FinalEpochs is < 0) throw new ArgumentException($"FinalEpochs must not be negative (got {FinalEpochs}).");
        if (MaxParameters is <= 0) throw new ArgumentException($"MaxParameters must be positive (got {MaxParameters}).");
        if (MaxMacsPerImage is <= 0) throw new ArgumentException($"MaxMacsPerImage must be positive (got {MaxMacsPerImage}).");
        if (ShrinkAndPerturb is { } sp && !(sp.Shrink is > 0 and <= 1 && sp.Perturb is >= 0 and <= 1))
            throw new ArgumentException($"ShrinkAndPerturb needs Shrink in (0, 1] and Perturb in [0, 1] (got {sp}).");
        if (TrialLearningRate is { } lr && !(lr > 0 && double.IsFinite(lr))) throw new ArgumentException($"TrialLearningRate must be positive (got {lr}).");
        if (!(MaxMorphError > 0)) throw new ArgumentException($"MaxMorphError must be positive (got {MaxMorphError}).");
        if (VerificationInputs is < 1 or > 4096) throw new ArgumentException($"VerificationInputs must be in [1, 4096] (got {VerificationInputs}).");
        if (MaxLineageEntries is < 1 or > 100_000) throw new ArgumentException($"MaxLineageEntries must be in [1, 100000] (got {MaxLineageEntries}).");
    }
}
