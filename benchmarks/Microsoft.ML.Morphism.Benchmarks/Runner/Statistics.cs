// Medians and percentiles of measured samples.
namespace Microsoft.ML.Morphism.Benchmarks.Runner;

internal static class Statistics
{
    public static double Median(IEnumerable<double> samples) => Percentile(samples, 50);

    /// <summary>The p-th percentile (0–100) by linear interpolation between the closest ranks.</summary>
    public static double Percentile(IEnumerable<double> samples, double p)
    {
        var sorted = samples.Order().ToArray();
        if (sorted.Length == 0)
            throw new ArgumentException("No samples.", nameof(samples));
        double rank = p / 100 * (sorted.Length - 1);
        int below = (int)Math.Floor(rank);
        int above = Math.Min(below + 1, sorted.Length - 1);
        return sorted[below] + (rank - below) * (sorted[above] - sorted[below]);
    }
}
