// Turns an IDataView into training batches: decoded once into a bounded in-memory cache, or streamed with a shuffle buffer.
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// Builds the <see cref="ITrainingSet"/> the trainer reads from an <see cref="IDataView"/>. Rows
/// with a missing label or a NaN/infinite feature value are skipped (and counted for a warning). When the decoded features fit in <c>cacheLimitBytes</c> they are read
/// once into one float array, so later epochs never decode images again; otherwise every epoch
/// streams the data through a bounded shuffle buffer.
/// </summary>
internal static class DataViewTrainingSet
{
    private const int ShuffleWindow = 4096;

    // `what` names the data in messages: "training data" or "validation data".
    public static (ITrainingSet Set, long SkippedRows, bool Cached) Create(IDataView data, FeatureColumn features, LabelColumn labels,
        bool cache, long cacheLimitBytes, string what, Action? checkAlive = null)
    {
        long rows = data.GetRowCount() ?? CountRows(data, labels, checkAlive);
        if (rows == 0)
            throw new ArgumentException($"The {what} has no rows.");
        bool fits = cache && rows * features.Size * sizeof(float) <= cacheLimitBytes;
        if (fits)
        {
            var (set, skipped) = ReadAll(data, features, labels, what, checkAlive);
            return (set, skipped, true);
        }
        var (valid, skippedRows) = CountValid(data, features, labels, checkAlive);
        if (valid == 0)
            throw new ArgumentException($"The {what} has no usable rows: all {skippedRows} have a missing label or a non-finite feature value.");
        return (new StreamingSet(data, features, labels, valid, checkAlive), skippedRows, false);
    }

    private static (InMemoryTrainingSet Set, long Skipped) ReadAll(IDataView data, FeatureColumn features, LabelColumn labels, string what, Action? checkAlive)
    {
        var featureList = new List<float[]>();
        var labelList = new List<long>();
        const int chunkRows = 4096;
        var chunk = new float[chunkRows * features.Size];
        int inChunk = 0;
        long skipped = 0;
        using (var cursor = data.GetRowCursor([.. features.ReadColumns, labels.Column]))
        {
            var readFeatures = features.CreateReader(cursor);
            var readLabel = labels.CreateReader(cursor);
            while (cursor.MoveNext())
            {
                if ((cursor.Position & 1023) == 0)
                    checkAlive?.Invoke();
                long label = readLabel();
                if (label < 0 || !readFeatures(chunk.AsSpan(inChunk * features.Size, features.Size)))
                {
                    skipped++;
                    continue;
                }
                labelList.Add(label);
                if (++inChunk == chunkRows)
                {
                    featureList.Add(chunk);
                    chunk = new float[chunkRows * features.Size];
                    inChunk = 0;
                }
            }
        }
        if (labelList.Count == 0)
            throw new ArgumentException($"The {what} has no usable rows: all {skipped} have a missing label or a non-finite feature value.");
        var all = new float[(long)labelList.Count * features.Size];
        long offset = 0;
        foreach (var full in featureList)
        {
            Array.Copy(full, 0, all, offset, full.Length);
            offset += full.Length;
        }
        Array.Copy(chunk, 0, all, offset, inChunk * features.Size);
        return (new InMemoryTrainingSet(all, [.. labelList], features.Size), skipped);
    }

    private static long CountRows(IDataView data, LabelColumn labels, Action? checkAlive)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([labels.Column]);
        while (cursor.MoveNext())
        {
            if ((cursor.Position & 1023) == 0)
                checkAlive?.Invoke();
            count++;
        }
        return count;
    }

    private static (int Valid, long Skipped) CountValid(IDataView data, FeatureColumn features, LabelColumn labels, Action? checkAlive)
    {
        int valid = 0;
        long skipped = 0;
        var buffer = new float[features.Size];
        using var cursor = data.GetRowCursor([.. features.ReadColumns, labels.Column]);
        var readFeatures = features.CreateReader(cursor);
        var readLabel = labels.CreateReader(cursor);
        while (cursor.MoveNext())
        {
            if ((cursor.Position & 1023) == 0)
                checkAlive?.Invoke();
            if (readLabel() >= 0 && readFeatures(buffer))
                valid++;
            else
                skipped++;
        }
        return (valid, skipped);
    }

    /// <summary>Streams rows each epoch; shuffles within a window of <see cref="ShuffleWindow"/> rows.</summary>
    private sealed class StreamingSet(IDataView data, FeatureColumn features, LabelColumn labels, int count, Action? checkAlive) : ITrainingSet
    {
        public int FeatureSize => features.Size;

        public int Count => count;

        public IEnumerable<TrainingBatch> Batches(int batchSize, Random? shuffle)
        {
            int window = shuffle is null ? 1 : Math.Max(ShuffleWindow, batchSize);
            var pool = new float[window * features.Size];
            var poolLabels = new long[window];
            int filled = 0;
            var batch = new TrainingBatch(batchSize, features.Size);
            using var cursor = data.GetRowCursor([.. features.ReadColumns, labels.Column]);
            var readFeatures = features.CreateReader(cursor);
            var readLabel = labels.CreateReader(cursor);
            var row = new float[features.Size];
            while (cursor.MoveNext())
            {
                if ((cursor.Position & 1023) == 0)
                    checkAlive?.Invoke();
                long label = readLabel();
                if (label < 0 || !readFeatures(row))
                    continue;
                if (filled < window)
                {
                    row.CopyTo(pool.AsSpan(filled * features.Size));
                    poolLabels[filled++] = label;
                    if (filled < window)
                        continue;
                }
                else
                {
                    // Emit a random pooled row and put the new one in its place.
                    int pick = shuffle!.Next(window);
                    Emit(batch, pool, poolLabels, pick);
                    row.CopyTo(pool.AsSpan(pick * features.Size));
                    poolLabels[pick] = label;
                }
                if (shuffle is null)
                {
                    Emit(batch, pool, poolLabels, 0);
                    filled = 0;
                }
                if (batch.Count == batchSize)
                {
                    yield return batch;
                    batch.Count = 0;
                }
            }
            // Drain what is left in the pool in random order.
            var rest = Enumerable.Range(0, filled).ToArray();
            shuffle?.Shuffle(rest);
            foreach (var i in rest)
            {
                Emit(batch, pool, poolLabels, i);
                if (batch.Count == batchSize)
                {
                    yield return batch;
                    batch.Count = 0;
                }
            }
            if (batch.Count > 0)
                yield return batch;
        }

        private void Emit(TrainingBatch batch, float[] pool, long[] poolLabels, int index)
        {
            Array.Copy(pool, index * features.Size, batch.Features, batch.Count * features.Size, features.Size);
            batch.Labels[batch.Count++] = poolLabels[index];
        }
    }
}
