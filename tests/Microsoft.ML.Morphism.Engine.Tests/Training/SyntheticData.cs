using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

/// <summary>Small learnable image sets: each class is a bright square at its own position plus noise.</summary>
internal static class SyntheticData
{
    public static InMemoryTrainingSet Squares(int count, int classes, int size, int seed, int channels = 1)
    {
        var random = new Random(seed);
        int featureSize = channels * size * size;
        var features = new float[count * featureSize];
        var labels = new long[count];
        for (int n = 0; n < count; n++)
        {
            int label = n % classes;
            labels[n] = label;
            int top = (label * 3) % (size - 3), left = (label * 5) % (size - 3);
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                    {
                        bool inside = y >= top && y < top + 3 && x >= left && x < left + 3;
                        features[n * featureSize + (c * size + y) * size + x] = (inside ? 1f : 0f) + 0.3f * (float)(random.NextDouble() - 0.5);
                    }
        }
        return new InMemoryTrainingSet(features, labels, featureSize);
    }
}
