// What a layer kind's width-morph rule works with: how a blob's channels grow, and the trace that records which parameters grow with them.
using System.Collections.Immutable;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>A blob's channel (or feature) count before and after a width morph; the new channels come last.</summary>
internal readonly record struct Widening(int Old, int New)
{
    /// <summary>The widening of a flattened blob: each channel becomes <paramref name="area"/> features.</summary>
    public Widening Times(int area) => new(Old * area, New * area);
}

/// <summary>
/// What a layer's width-morph rule (<see cref="Layer.WidenInput"/>, <see cref="Layer.WidenSources"/>) may ask
/// and record while the width morph follows new channels forward from the widened layer.
/// </summary>
internal interface IWidenTrace
{
    /// <summary>The name of the layer being widened (for messages).</summary>
    string Widened { get; }

    /// <summary>The network being widened (for shapes).</summary>
    NetworkDescription Network { get; }

    /// <summary>Records that parameter <paramref name="key"/> grows along <paramref name="axis"/> to <paramref name="size"/>, its new entries <paramref name="fill"/>.</summary>
    void Grow(string key, int axis, int size, double fill = 0);

    /// <summary>Follows the new channels through <paramref name="layers"/> (a branch); the widening at its end, or null when a layer absorbed it.</summary>
    Widening? Follow(ImmutableArray<Layer> layers, Widening widening);

    /// <summary>How the output of top-level layer (or <c>"input"</c>) <paramref name="name"/> grew, or null when it did not.</summary>
    Widening? TopLevelBlob(string name);
}
