// The metrics of one finished training epoch.
namespace Microsoft.ML.Morphism.Training;

/// <summary>Metrics of one finished epoch (epoch 0 = the starting weights, evaluated only when asked for).</summary>
/// <param name="Epoch">1-based epoch (0 for the starting weights).</param>
/// <param name="TrainLoss">Mean cross-entropy over the epoch's batches (train mode, as trained); NaN for epoch 0.</param>
/// <param name="TrainAccuracy">Fraction of training examples classified correctly during the epoch; NaN for epoch 0.</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation set (eval mode), or null.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set, or null.</param>
/// <param name="LearningRate">Learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch, validation included.</param>
/// <param name="Examples">Training examples seen in the epoch.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double Seconds, long Examples)
{
    /// <summary>
    /// Training MACs of the run up to the end of this epoch: training images seen × the network's
    /// <see cref="Networks.NetworkDescription.TrainingMacsPerImage"/>, plus forward MACs of every validation
    /// image evaluated (epoch 0 included). Not stored in saved models (their history format predates it): 0 after a load.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long CumulativeMacs { get; init; }

    /// <summary>Wall time of the run up to the end of this epoch, validation included (0 after a load).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double CumulativeSeconds { get; init; }

    /// <summary>Accuracy on <see cref="TrainingHooks.MonitorSet"/> after this epoch, or null (not stored in saved models).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double? MonitorAccuracy { get; init; }
}
