// The exception a training from scratch throws when its loss or weights stop being finite or blow up.
namespace Microsoft.ML.Morphism.Training;

/// <summary>A non-finite or exploding loss while training from scratch, naming where it happened.</summary>
public sealed class TrainingDivergedException(string message, int epoch, int batch) : InvalidOperationException(message)
{
    /// <summary>1-based epoch.</summary>
    public int Epoch { get; } = epoch;

    /// <summary>1-based batch within the epoch.</summary>
    public int Batch { get; } = batch;
}
