// Default layer names: the kind's prefix plus a 1-based index in network order (conv1, conv2, dense1, ...).
using System.Collections.Immutable;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// The one rule for default names, shared by the text parser, the builder and the text printer: walk
/// the layers depth-first (parallel branches in order) and number each prefix from 1. Every layer
/// counts, named or not, so a printed network that omits default names parses back identically.
/// </summary>
internal static class DefaultNaming
{
    /// <summary>Replaces empty names with their default names.</summary>
    public static ImmutableArray<Layer> Assign(ImmutableArray<Layer> layers)
    {
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        return AssignSequence(layers, counters);
    }

    /// <summary>The default name each layer would get at its position, by layer name.</summary>
    public static Dictionary<string, string> Defaults(ImmutableArray<Layer> layers)
    {
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        Visit(layers, counters, (layer, name) => result[layer.Name] = name);
        return result;
    }

    private static ImmutableArray<Layer> AssignSequence(ImmutableArray<Layer> layers, Dictionary<string, int> counters)
    {
        var builder = ImmutableArray.CreateBuilder<Layer>(layers.Length);
        foreach (var layer in layers)
        {
            var named = layer.Name.Length == 0 ? layer with { Name = Next(layer, counters) } : Count(layer, counters);
            if (named is ParallelLayer parallel)
                named = parallel with { Branches = [.. parallel.Branches.Select(b => AssignSequence(b, counters))] };
            builder.Add(named);
        }
        return builder.MoveToImmutable();
    }

    private static void Visit(ImmutableArray<Layer> layers, Dictionary<string, int> counters, Action<Layer, string> visit)
    {
        foreach (var layer in layers)
        {
            visit(layer, Next(layer, counters));
            if (layer is ParallelLayer parallel)
                foreach (var branch in parallel.Branches)
                    Visit(branch, counters, visit);
        }
    }

    private static Layer Count(Layer layer, Dictionary<string, int> counters)
    {
        Next(layer, counters);
        return layer;
    }

    private static string Next(Layer layer, Dictionary<string, int> counters)
    {
        var prefix = layer.DefaultNamePrefix;
        counters[prefix] = counters.GetValueOrDefault(prefix) + 1;
        return prefix + counters[prefix];
    }
}
