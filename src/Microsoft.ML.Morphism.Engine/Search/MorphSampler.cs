// Draws the random morphs of the growth search's children from the library's morph set.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Search;

/// <summary>The morph kinds a growth search makes children with.</summary>
public enum SearchMorph
{
    /// <summary><see cref="WidenStep"/>: a conv or dense layer × 1.5 or × 2.</summary>
    Widen,
    /// <summary><see cref="DeepenStep"/> (NetMorph) after a conv (3×3) or dense layer; adds non-linearity only as its P-activation's a leaves 1.</summary>
    Deepen,
    /// <summary><see cref="InsertIdentityStep"/> after a plain ReLU (NASH's exact deepen, non-linear from the start).</summary>
    Identity,
    /// <summary><see cref="EnlargeKernelStep"/>: a conv's kernel + 2 (up to 7).</summary>
    EnlargeKernel,
    /// <summary><see cref="AddBranchStep"/>: a conv or dense layer becomes two parallel ones (a linear reparametrisation: it adds no capacity by itself).</summary>
    AddBranch,
    /// <summary><see cref="AddSkipStep"/>: a zero-initialised projection from an earlier blob of the same size.</summary>
    AddSkip,
    /// <summary><see cref="InsertBatchNormStep"/> after a conv or dense layer that has none.</summary>
    InsertBatchNorm,
}

/// <summary>
/// Proposes one random step of an allowed kind on a network; the step's own checks decide whether it applies
/// (the search retries when it does not). Deterministic given the <see cref="Random"/>.
/// </summary>
internal static class MorphSampler
{
    public static MorphStep? Propose(SearchMorph kind, NetworkDescription network, Random random)
    {
        var weighted = network.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).ToList();
        switch (kind)
        {
            case SearchMorph.Widen:
            {
                var names = WidenStep.WidenableLayers(network);
                if (names.Count == 0)
                    return null;
                var name = Pick(names, random);
                int width = network[name] is Conv2dLayer conv ? conv.OutChannels : ((DenseLayer)network[name]).Units;
                double factor = random.Next(2) == 0 ? 1.5 : 2;
                return new WidenStep(name, Math.Max(width + 1, (int)Math.Round(width * factor)));
            }
            case SearchMorph.Deepen:
            {
                if (weighted.Count == 0)
                    return null;
                var layer = Pick(weighted, random);
                return new DeepenStep(layer.Name, KernelSize: layer is Conv2dLayer ? 3 : 1);
            }
            case SearchMorph.Identity:
            {
                var relus = network.AllLayers().OfType<ActivationLayer>().Where(a => a.Activation == ActivationKind.ReLU && !a.Parametric).ToList();
                if (relus.Count == 0)
                    return null;
                var relu = Pick(relus, random);
                return new InsertIdentityStep(relu.Name, network.Shapes[relu.Name].Output.IsImage ? 3 : 1);
            }
            case SearchMorph.EnlargeKernel:
            {
                var convs = weighted.OfType<Conv2dLayer>().Where(c => c.KernelSize < 7).ToList();
                if (convs.Count == 0)
                    return null;
                var conv = Pick(convs, random);
                return new EnlargeKernelStep(conv.Name, conv.KernelSize + 2);
            }
            case SearchMorph.AddBranch:
            {
                if (weighted.Count == 0)
                    return null;
                var layer = Pick(weighted, random);
                int kernel = layer is Conv2dLayer conv && random.Next(2) == 1 ? conv.KernelSize + 2 : 1;
                if (layer is Conv2dLayer c && (kernel - c.KernelSize) % 2 != 0)
                    kernel = c.KernelSize;
                return new AddBranchStep(layer.Name, kernel);
            }
            case SearchMorph.AddSkip:
            {
                var top = network.Layers.Where(l => l is not SkipLayer).Select(l => l.Name).ToList();
                if (top.Count < 3)
                    return null;
                int to = 2 + random.Next(top.Count - 2);
                int from = random.Next(to - 1);
                return new AddSkipStep(top[from], top[to]);
            }
            case SearchMorph.InsertBatchNorm:
            {
                var bare = weighted.Where(l => !FollowedByBatchNorm(network, l.Name)).ToList();
                if (bare.Count == 0)
                    return null;
                return new InsertBatchNormStep(Pick(bare, random).Name);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown morph kind.");
        }
    }

    private static bool FollowedByBatchNorm(NetworkDescription network, string layer)
    {
        var location = network.Locate(layer);
        var sequence = location.Sequence(network);
        return location.Index + 1 < sequence.Length && sequence[location.Index + 1] is BatchNormLayer;
    }

    private static T Pick<T>(IReadOnlyList<T> items, Random random) => items[random.Next(items.Count)];
}
