// NASH's exact deepen after a ReLU: an identity conv (or dense) and a plain ReLU, exact because relu(relu(x)) = relu(x).
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Inserts, right after the plain ReLU <see cref="After"/>, a layer that is the identity — a
/// <see cref="KernelSize"/>² conv (same padding, weight 1 on each channel's own centre tap, zero bias)
/// on an image blob, a square dense layer on a vector — named <c>{After}_id1</c>, followed by a plain
/// ReLU <c>{After}_id1_act</c>. The child is exactly the parent: ReLU outputs are ≥ 0, the identity
/// passes them unchanged, and ReLU leaves non-negative values alone (Elsken et al., NASH, 2017). Unlike
/// <see cref="DeepenStep"/>, whose inserted P-activation starts linear (a = 1) and adds capacity only as
/// training moves a, the new layer is non-linear from the first step. Plan text: <c>identity(relu1, kernel=3)</c>.
/// </summary>
/// <remarks>
/// Optimizer state: the new layer's weight and bias start fresh, everything else keeps its state (the default
/// <see cref="MorphStep.CarryState"/>).
/// </remarks>
/// <param name="After">A plain (not parametric) ReLU layer, top level or inside a parallel branch.</param>
/// <param name="KernelSize">The new conv's kernel size: odd (1 for a vector blob).</param>
public sealed record InsertIdentityStep(string After, int KernelSize = 1) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(1, ["the ReLU to insert after"], "kernel");
        return new InsertIdentityStep(call.Word(0), call.Int("kernel", 1));
    }

    /// <inheritdoc/>
    public override string ToString() => Print(NewCall().Add(After).Option("kernel", KernelSize, 1));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        if (After is null || !network.Contains(After))
            throw Invalid($"no layer named '{After}'. Plain ReLU layers: {string.Join(", ", PlainRelus(network))}.");
        if (network[After] is not ActivationLayer { Activation: ActivationKind.ReLU, Parametric: false })
            throw Invalid($"layer '{After}' is not a plain relu; the identity insert is exact only after one (relu(relu(x)) = relu(x)). Plain ReLU layers: {string.Join(", ", PlainRelus(network))}; elsewhere use deepen.");
        var blob = network.Shapes[After].Output;
        if (KernelSize < 1 || KernelSize % 2 == 0 || (!blob.IsImage && KernelSize != 1))
            throw Invalid($"kernel {KernelSize} is not valid after '{After}' ({blob}): use an odd kernel for an image blob, 1 for a vector.");

        string name = network.UniqueName($"{After}_id1");
        string activation = network.UniqueName($"{name}_act", [name]);
        int channels = blob.Channels;
        Layer identity = blob.IsImage
            ? new Conv2dLayer(name, channels, KernelSize, Padding: Conv2dLayer.SamePadding(KernelSize)) { Morphed = true }
            : new DenseLayer(name, channels) { Morphed = true };
        var relu = new ActivationLayer(activation, ActivationKind.ReLU, false) { Morphed = true };
        var child = network.InsertAfter(network.Locate(After), identity, relu);

        int taps = blob.IsImage ? KernelSize * KernelSize : 1;
        var values = new double[(long)channels * channels * taps];
        for (int c = 0; c < channels; c++)
            values[((long)c * channels + c) * taps + taps / 2] = 1; // the centre tap of its own channel
        long[] shape = blob.IsImage ? [channels, channels, KernelSize, KernelSize] : [channels, channels];
        return new MorphOutcome(child, weights.With(
        [
            KeyValuePair.Create($"{name}.weight", new WeightTensor(shape, values)),
            KeyValuePair.Create($"{name}.bias", new WeightTensor([channels], new double[channels])),
        ]), this);
    }

    private static IEnumerable<string> PlainRelus(NetworkDescription network) =>
        network.AllLayers().OfType<ActivationLayer>().Where(a => a is { Activation: ActivationKind.ReLU, Parametric: false }).Select(a => a.Name);
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>identity(after, kernel)</c>: an identity conv or dense layer and a plain ReLU after the plain ReLU <paramref name="after"/> (see <see cref="InsertIdentityStep"/>).</summary>
    public MorphPlan InsertIdentity(string after, int kernelSize = 1) => Add(new InsertIdentityStep(after, kernelSize));
}
