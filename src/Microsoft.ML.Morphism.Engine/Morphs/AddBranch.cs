// The parallel subnet morph: a conv (or dense) layer G becomes a block of branches F1 + F2 = G.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Replaces convolution (or dense layer) G = <paramref name="Layer"/> by a parallel block whose branch
/// outputs are summed: F1, which keeps G's name and bias, and a new random F2 (named
/// <c>{layer}_br1</c>, bias 0) with a <paramref name="KernelSize"/>² kernel, G's stride, dilation and
/// groups, and the padding that aligns its outputs with G's. With both kernels zero-padded (centred) to
/// the larger size, F1 = G − F2: exact, and both branches are dense. When F2's kernel is larger than
/// G's, F1 grows to it with matching padding. The block is named <c>{layer}_par</c>; if G already is
/// the only layer of a branch of a parallel block, F2 joins that block as one more branch instead of
/// nesting a new one (Inception-like growth). Plan text form: <c>branch(conv2)</c> or <c>branch(conv2, 3)</c>.
/// </summary>
/// <remarks>
/// Capacity: none. Two linear branches summed are one linear conv with the larger kernel (what
/// <see cref="EnlargeKernelStep"/> gives), so the morph changes only how the same function is parametrised, and with
/// it the training dynamics; capacity comes from what follows the block, not from the branch. Optimizer state: F1
/// inherits G's, F2 starts fresh (<see cref="CarryState"/>).
/// </remarks>
/// <param name="Layer">The convolution or dense layer G to split into branches.</param>
/// <param name="KernelSize">The new branch's kernel size (default 1; K′ − K must be even; 1 for dense layers).</param>
public sealed record AddBranchStep(string Layer, int KernelSize = 1) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(1, ["the layer to split", "the branch kernel size"]);
        return new AddBranchStep(call.Word(0), call.Count == 2 ? call.Int(1) : 1);
    }

    /// <inheritdoc/>
    public override string ToString() => Print(KernelSize == 1 ? NewCall().Add(Layer) : NewCall().Add(Layer).Add(KernelSize));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        if (Layer is null || !network.Contains(Layer))
            throw Invalid($"no layer named '{Layer}'. Layers that can branch: {Branchable(network)}.");
        var location = network.Locate(Layer);
        var g = location.Layer(network);
        var random = context.NewRandom();
        var branchName = NewBranchName(network);

        var (f1, f2, tensors) = g switch
        {
            Conv2dLayer conv => SplitConv(network, conv, branchName, weights, random),
            DenseLayer dense => SplitDense(dense, branchName, weights, random),
            _ => throw Invalid($"'{Layer}' is a {g.DefaultNamePrefix} layer; only convolutions and dense layers can branch: {Branchable(network)}."),
        };
        f2 = f2 with { Morphed = true };

        NetworkDescription child;
        if (!location.IsTopLevel && location.Sequence(network).Length == 1)
        {
            // G alone makes up a branch: F2 becomes a sibling branch of the same block.
            var blockLocation = location.Parent!;
            var block = (ParallelLayer)blockLocation.Layer(network);
            var branches = block.Branches.SetItem(location.Path[^1].Branch, [f1]).Add([f2]);
            child = network.Replace(blockLocation, block with { Branches = branches });
        }
        else
        {
            var block = new ParallelLayer(network.UniqueName($"{Layer}_par", [branchName]), [[f1], [f2]]) { Morphed = true };
            child = location.IsTopLevel ? ReplaceTopLevel(network, location.Index, block) : network.Replace(location, block);
        }
        return new MorphOutcome(child, weights.With(tensors), this);
    }

    /// <summary>
    /// F1 = G − F2 keeps G's name and G's optimizer state (padded with a fresh border when F1's kernel grew to F2's
    /// size); the new branch F2 starts fresh (zero, step 0).
    /// </summary>
    public override ParameterStates CarryState(ParameterStates state, NetworkDescription parent, MorphOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(outcome);
        if (outcome.Network[Layer] is Conv2dLayer f1)
            state = state.Map($"{Layer}.weight", t => EnlargeKernelStep.PadKernel(t, f1.KernelSize));
        return state.KeepMatching(outcome.Network);
    }

    /// <summary>
    /// Puts the block in G's top-level place. G's blob stops being top-level, so skips that read it
    /// read the block instead: the same values, since the block computes G.
    /// </summary>
    private NetworkDescription ReplaceTopLevel(NetworkDescription network, int index, ParallelLayer block)
    {
        var layers = network.Layers.SetItem(index, block)
            .Select(l => l is SkipLayer skip && skip.From == Layer ? skip with { From = block.Name } : l);
        return new NetworkDescription(network.Input, layers);
    }

    private (Layer F1, Layer F2, Dictionary<string, WeightTensor> Tensors) SplitConv(NetworkDescription network, Conv2dLayer g, string branchName, NetworkWeights weights, GaussianRandom random)
    {
        if (KernelSize <= 0 || (KernelSize - g.KernelSize) % 2 != 0)
            throw Invalid($"'{Layer}' has a {g.KernelSize}×{g.KernelSize} kernel; the branch kernel must be positive and differ from it by an even number " +
                $"so both stay centred: {string.Join(", ", Enumerable.Range(0, 4).Select(i => (g.KernelSize % 2 == 1 ? 1 : 2) + 2 * i))}, ...");
        // F2 reads the same input positions around the same centre as G: its padding follows its kernel.
        int branchPadding = g.Padding + g.Dilation * (KernelSize - g.KernelSize) / 2;
        if (branchPadding < 0)
        {
            int smallest = g.KernelSize - 2 * (g.Padding / g.Dilation);
            throw Invalid($"'{Layer}' is a {g.KernelSize}×{g.KernelSize} convolution with padding {g.Padding}; a {KernelSize}×{KernelSize} branch would need " +
                $"padding {branchPadding} to align its outputs with it, and negative padding does not exist. Use a branch kernel of at least {smallest}.");
        }
        int common = Math.Max(g.KernelSize, KernelSize);
        var f1 = g with { KernelSize = common, Padding = g.Padding + g.Dilation * (common - g.KernelSize) / 2 };
        var f2 = new Conv2dLayer(branchName, g.OutChannels, KernelSize, g.Stride, branchPadding, g.Dilation, g.Groups, g.Bias);
        // F1 in G's place has the larger kernel: its network is checked against the network limits before any weight exists.
        _ = network.Replace(network.Locate(Layer!), f1);

        var gWeight = weights[$"{Layer}.weight"];
        long[] f2Shape = [gWeight.Shape[0], gWeight.Shape[1], KernelSize, KernelSize];
        var f2Weight = WeightTensor.Wrap(f2Shape, random.Normal(f2Shape.Aggregate(1L, (a, d) => a * d), Scale(gWeight)));
        var f1Weight = Difference(EnlargeKernelStep.PadKernel(gWeight, common), EnlargeKernelStep.PadKernel(f2Weight, common));
        return (f1, f2, Tensors(branchName, g.Bias, f1Weight, f2Weight, g.OutChannels));
    }

    private (Layer F1, Layer F2, Dictionary<string, WeightTensor> Tensors) SplitDense(DenseLayer g, string branchName, NetworkWeights weights, GaussianRandom random)
    {
        if (KernelSize != 1)
            throw Invalid($"'{Layer}' is a dense layer, which has no kernel; leave the kernel size at 1: branch({Layer}).");
        var gWeight = weights[$"{Layer}.weight"];
        var f2Weight = WeightTensor.Wrap([.. gWeight.Shape], random.Normal(gWeight.Count, Scale(gWeight)));
        var f2 = new DenseLayer(branchName, g.Units, g.Bias);
        return (g, f2, Tensors(branchName, g.Bias, Difference(gWeight, f2Weight), f2Weight, g.Units));
    }

    private Dictionary<string, WeightTensor> Tensors(string branchName, bool bias, WeightTensor f1Weight, WeightTensor f2Weight, int outputs)
    {
        // F1 keeps G's name, so G's bias stays where it is; F2's bias starts at zero.
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal)
        {
            [$"{Layer}.weight"] = f1Weight,
            [$"{branchName}.weight"] = f2Weight,
        };
        if (bias)
            tensors[$"{branchName}.bias"] = WeightTensor.Zeros(outputs);
        return tensors;
    }

    private string NewBranchName(NetworkDescription network)
    {
        for (int i = 1; ; i++)
            if (network.UniqueName($"{Layer}_br{i}") == $"{Layer}_br{i}")
                return $"{Layer}_br{i}";
    }

    /// <summary>F2's scale: the RMS of G's weights, so F1 = G − F2 and F2 are of G's order (He when G is all zeros).</summary>
    private static double Scale(WeightTensor g)
    {
        double sum = 0;
        foreach (var v in g.Values)
            sum += v * v;
        return sum > 0 ? Math.Sqrt(sum / g.Count) : Math.Sqrt(2.0 / NetworkWeights.FanIn(g.Shape));
    }

    private static WeightTensor Difference(WeightTensor a, WeightTensor b)
    {
        var values = a.ToArray();
        var subtrahend = b.Values;
        for (int i = 0; i < values.Length; i++)
            values[i] -= subtrahend[i];
        return WeightTensor.Wrap([.. a.Shape], values);
    }

    private static string Branchable(NetworkDescription network)
    {
        var names = network.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).Select(l => l.Name).ToList();
        return names.Count == 0 ? "(none in this network)" : string.Join(", ", names);
    }
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>branch(layer[, kernelSize])</c>: splits a conv or dense layer into two summed branches (see <see cref="AddBranchStep"/>).</summary>
    public MorphPlan AddBranch(string layer, int kernelSize = 1) => Add(new AddBranchStep(layer, kernelSize));
}
