// A seeded, self-contained source of normal and uniform numbers (no process-wide random state).
namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// Deterministic random numbers for initialisation and morphs: the same seed gives the same values
/// on every run and platform (System.Random's seeded algorithm), independent of any global state.
/// </summary>
internal sealed class GaussianRandom(int seed)
{
    private readonly Random _random = new(seed);
    private double? _spare;

    /// <summary>A standard normal value (Box–Muller).</summary>
    public double NextNormal()
    {
        if (_spare is { } spare)
        {
            _spare = null;
            return spare;
        }
        double u1 = 1.0 - _random.NextDouble(); // (0, 1]: log is finite
        double u2 = _random.NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        _spare = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>An array of normal values with the given standard deviation.</summary>
    public double[] Normal(long count, double std)
    {
        var values = new double[count];
        for (long i = 0; i < count; i++)
            values[i] = std * NextNormal();
        return values;
    }

    /// <summary>A uniform value in [0, 1).</summary>
    public double NextDouble() => _random.NextDouble();

    /// <summary>A uniform integer in [0, max).</summary>
    public int Next(int max) => _random.Next(max);

    /// <summary>A fresh seed for a sub-task, drawn from this stream.</summary>
    public int NextSeed() => _random.Next();
}
