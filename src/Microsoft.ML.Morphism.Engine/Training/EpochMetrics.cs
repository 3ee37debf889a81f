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
    double LearningRate, double Seconds, long Examples);
