// What a network costs to run and to train, in multiply-accumulates (MACs) per image.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// Compute accounting, one definition everywhere. <b>MACs</b>: the multiply-accumulates of one image's
/// forward pass through the weighted layers — conv, dense and skip projections: each weight is used once
/// per output position (FLOPs = 2 × MACs). Elementwise work (activations, BatchNorm, pooling, sums) is
/// not counted; it is a few percent of a conv's. <b>Training MACs per image</b> ≈ 3 × forward (forward,
/// input gradient, weight gradient), except ≈ 2 × for the layers that read the network input directly,
/// whose input gradient is never computed.
/// </summary>
public sealed partial class NetworkDescription
{
    /// <summary>Forward MACs per image of one layer (0 for layers without weights; a parallel block: its branches' sum).</summary>
    public long LayerMacs(string layerName)
    {
        var layer = this[layerName];
        if (layer is ParallelLayer parallel)
            return parallel.Branches.SelectMany(b => b).Sum(l => LayerMacs(l.Name));
        var output = Shapes[layerName].Output;
        long positions = (long)output.Height * output.Width;
        return ParameterSpecs.Where(p => p.Layer == layerName && p.Role is ParameterRole.Weight or ParameterRole.SkipProjection)
            .Sum(p => checked(p.Count * positions));
    }

    /// <summary>Forward MACs per image of the whole network.</summary>
    public long ForwardMacs => Layers.Sum(l => LayerMacs(l.Name));

    /// <summary>MACs of one epoch: training on <paramref name="trainImages"/> images plus a validation pass over <paramref name="validationImages"/>.</summary>
    public long EpochMacs(long trainImages, long validationImages) =>
        checked(TrainingMacsPerImage * trainImages + ForwardMacs * validationImages);

    /// <summary>Training MACs per image: 3 × forward, 2 × for the weighted layers that read the network input directly.</summary>
    public long TrainingMacsPerImage
    {
        get
        {
            long total = 0;
            Walk(Layers, readsInput: true);
            return total;

            bool Walk(IEnumerable<Layer> sequence, bool readsInput)
            {
                foreach (var layer in sequence)
                {
                    if (layer is ParallelLayer parallel)
                    {
                        bool anyWeighted = false;
                        foreach (var branch in parallel.Branches)
                            anyWeighted |= !Walk(branch, readsInput);
                        readsInput &= !anyWeighted;
                        continue;
                    }
                    long macs = LayerMacs(layer.Name);
                    bool fromInput = layer is SkipLayer skip ? skip.From == SkipLayer.NetworkInput : readsInput;
                    total += (fromInput ? 2 : 3) * macs;
                    if (macs > 0 && layer is not SkipLayer)
                        readsInput = false;
                }
                return readsInput;
            }
        }
    }
}
