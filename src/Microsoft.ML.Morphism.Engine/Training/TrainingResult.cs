// What a training run returns: the weights, the per-epoch history, why it stopped, and for a growing run the final network and each growth point.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>Why training stopped.</summary>
public enum StopReason
{
    /// <summary>All epochs ran.</summary>
    Completed,
    /// <summary>Validation loss stopped improving for the patience.</summary>
    EarlyStopped,
    /// <summary>The loss became non-finite or blew up; the best (or starting) weights were returned.</summary>
    Diverged,
}

/// <summary>The trained weights and how training went.</summary>
/// <param name="Weights">The weights training returns: the best by validation loss when a validation set was given, else the last.</param>
/// <param name="History">Metrics per epoch, in order (epoch 0 first when the starting weights were evaluated).</param>
/// <param name="Reason">Why training stopped.</param>
/// <param name="Message">A sentence for logs when training stopped early.</param>
/// <param name="SelectedEpoch">The epoch whose weights were returned (0 = the starting weights).</param>
public sealed record TrainingResult(NetworkWeights Weights, IReadOnlyList<EpochMetrics> History, StopReason Reason, string? Message, int SelectedEpoch)
{
    /// <summary>
    /// The network <see cref="Weights"/> belong to: the trained network, or after growth points the grown one (weights
    /// kept from an epoch before a growth point are carried through its morphs, exactly). Set by
    /// <see cref="NetworkTrainer.Train"/>; null in results built elsewhere.
    /// </summary>
    public NetworkDescription? Network { get; init; }

    /// <summary>The growth points the run went through, in order (empty without a <see cref="GrowthSchedule"/>).</summary>
    public IReadOnlyList<GrowthEvent> Growth { get; init; } = [];
}

/// <summary>What one growth point of a run did: the morphs, the cost of the network before and after, and the verification.</summary>
/// <param name="Epoch">The growth point: after this many epochs.</param>
/// <param name="Steps">The morphs as applied (automatic choices made explicit), in plan text.</param>
/// <param name="ForwardMacsBefore">Forward MACs per image of the network before (<see cref="NetworkDescription.ForwardMacs"/>).</param>
/// <param name="ForwardMacsAfter">Forward MACs per image of the grown network.</param>
/// <param name="MaxRelError">The verification's max relative logit error (eval mode, float32, on the first training rows).</param>
/// <param name="Seconds">Wall time of the growth: morphs, verification, optimizer state carry and the new module.</param>
/// <param name="VerificationMacs">The verification's forward passes (parent and child on its inputs), charged to the run's cumulative MACs.</param>
/// <param name="Report">The full verification report.</param>
public sealed record GrowthEvent(int Epoch, string Steps, long ForwardMacsBefore, long ForwardMacsAfter, double MaxRelError, double Seconds,
    long VerificationMacs, MorphReport Report);
