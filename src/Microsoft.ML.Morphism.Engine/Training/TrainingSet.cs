// Sources of training batches: the contract the trainer reads, and an in-memory implementation.
namespace Microsoft.ML.Morphism.Training;

/// <summary>
/// One batch of examples in reused buffers: <see cref="Count"/> rows of <c>FeatureSize</c> floats
/// (channels-first) and their class indices. Valid until the enumerator moves on.
/// </summary>
public sealed class TrainingBatch
{
    /// <summary>Creates buffers for up to <paramref name="capacity"/> rows.</summary>
    public TrainingBatch(int capacity, int featureSize)
    {
        Features = new float[checked(capacity * featureSize)];
        Labels = new long[capacity];
        FeatureSize = featureSize;
    }

    /// <summary>Row-major features, <see cref="Count"/>·FeatureSize values in use.</summary>
    public float[] Features { get; }

    /// <summary>Class indices (0-based), <see cref="Count"/> in use.</summary>
    public long[] Labels { get; }

    /// <summary>Values per row.</summary>
    public int FeatureSize { get; }

    /// <summary>Rows in use.</summary>
    public int Count { get; set; }
}

/// <summary>Examples the trainer can iterate over in batches, as many times as it needs.</summary>
public interface ITrainingSet
{
    /// <summary>Values per example (the network input size).</summary>
    int FeatureSize { get; }

    /// <summary>Number of examples (the trainer plans its learning-rate schedule with it).</summary>
    int Count { get; }

    /// <summary>
    /// The examples in batches of at most <paramref name="batchSize"/>, in an order shuffled by
    /// <paramref name="shuffle"/> (or the stored order when null). Buffers may be reused between batches.
    /// </summary>
    IEnumerable<TrainingBatch> Batches(int batchSize, Random? shuffle);
}

/// <summary>Examples held in one float array (the feature cache); batches copy rows into a reused buffer.</summary>
public sealed class InMemoryTrainingSet : ITrainingSet
{
    private readonly float[] _features;
    private readonly long[] _labels;

    /// <summary>Wraps <paramref name="features"/> (rows of <paramref name="featureSize"/>) and <paramref name="labels"/> without copying.</summary>
    public InMemoryTrainingSet(float[] features, long[] labels, int featureSize)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        if (featureSize <= 0 || (long)labels.Length * featureSize != features.Length)
            throw new ArgumentException($"{features.Length} feature values do not make {labels.Length} rows of {featureSize}.");
        _features = features;
        _labels = labels;
        FeatureSize = featureSize;
    }

    /// <inheritdoc/>
    public int FeatureSize { get; }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <summary>
    /// Splits off a validation set: a share <paramref name="validationFraction"/> of the rows (at least one of each
    /// part), chosen by a shuffle seeded with <paramref name="seed"/>; both parts keep the stored row order.
    /// </summary>
    public (InMemoryTrainingSet Train, InMemoryTrainingSet Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"The validation fraction must be in (0, 1) (got {validationFraction}).");
        int validationRows = (int)Math.Round(Count * validationFraction);
        if (validationRows < 1 || validationRows >= Count)
            throw new ArgumentException($"A validation fraction of {validationFraction} of {Count} row(s) leaves no rows for training or for validation.");
        var order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        var validation = order.AsSpan(0, validationRows).ToArray();
        var train = order.AsSpan(validationRows).ToArray();
        Array.Sort(validation);
        Array.Sort(train);
        return (Rows(train), Rows(validation));
    }

    private InMemoryTrainingSet Rows(int[] rows)
    {
        var features = new float[(long)rows.Length * FeatureSize];
        var labels = new long[rows.Length];
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(_features, (long)rows[i] * FeatureSize, features, (long)i * FeatureSize, FeatureSize);
            labels[i] = _labels[rows[i]];
        }
        return new InMemoryTrainingSet(features, labels, FeatureSize);
    }

    /// <inheritdoc/>
    public IEnumerable<TrainingBatch> Batches(int batchSize, Random? shuffle)
    {
        var order = Enumerable.Range(0, _labels.Length).ToArray();
        if (shuffle is not null)
            shuffle.Shuffle(order);
        var batch = new TrainingBatch(Math.Min(batchSize, Math.Max(1, _labels.Length)), FeatureSize);
        for (int start = 0; start < order.Length; start += batchSize)
        {
            int count = Math.Min(batchSize, order.Length - start);
            for (int i = 0; i < count; i++)
            {
                int row = order[start + i];
                Array.Copy(_features, (long)row * FeatureSize, batch.Features, (long)i * FeatureSize, FeatureSize);
                batch.Labels[i] = _labels[row];
            }
            batch.Count = count;
            yield return batch;
        }
    }
}
