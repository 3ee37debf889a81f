// The kernel-size morph: a K×K convolution becomes K′×K′ by zero-padding its kernel, centred.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Grows the kernel of convolution <paramref name="Layer"/> from K×K to
/// <paramref name="NewKernelSize"/>² (K′ − K even) by zero-padding it on every side by (K′ − K)/2 and
/// raising the layer's padding by dilation·(K′ − K)/2, so every output still reads exactly the same
/// inputs with the same weights: exact, and the output size is unchanged. Grouped and dilated
/// convolutions work too. Plan text form: <c>kernel(conv2, 5)</c>.
/// </summary>
/// <remarks>
/// Capacity: a larger receptive field at once, linear (no new non-linearity). Optimizer state: padded like the
/// kernel, the new border fresh (<see cref="CarryState"/>).
/// </remarks>
/// <param name="Layer">The convolution whose kernel grows.</param>
/// <param name="NewKernelSize">The new kernel size K′ &gt; K, with K′ − K even so the old kernel stays centred.</param>
public sealed record EnlargeKernelStep(string Layer, int NewKernelSize) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(2, ["the convolution", "the new kernel size"]);
        return new EnlargeKernelStep(call.Word(0), call.Int(1));
    }

    /// <inheritdoc/>
    public override string ToString() => Print(NewCall().Add(Layer).Add(NewKernelSize));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        if (Layer is null || !network.Contains(Layer))
            throw Invalid($"no layer named '{Layer}'. Convolutions: {Convolutions(network)}.");
        var location = network.Locate(Layer);
        if (location.Layer(network) is not Conv2dLayer conv)
            throw Invalid($"'{Layer}' is a {location.Layer(network).DefaultNamePrefix} layer; only convolutions have a kernel to enlarge: {Convolutions(network)}.");
        int k = conv.KernelSize;
        if (NewKernelSize <= k)
            throw Invalid($"'{Layer}' already has a {k}×{k} kernel; the new size must be larger (shrinking or keeping it is not a function-preserving morph): {k + 2}, {k + 4}, ...");
        if ((NewKernelSize - k) % 2 != 0)
            throw Invalid($"'{Layer}' has a {k}×{k} kernel; the growth K′ − K must be even so the old kernel stays centred: {k + 2}, {k + 4}, ...");

        int margin = (NewKernelSize - k) / 2;
        var enlarged = conv with { KernelSize = NewKernelSize, Padding = conv.Padding + conv.Dilation * margin };
        var child = network.Replace(location, enlarged);
        var key = $"{Layer}.weight";
        return new MorphOutcome(child, weights.With(key, PadKernel(weights[key], NewKernelSize)), this);
    }

    /// <summary>Optimizer state is padded like the kernel: the old taps keep theirs, the new zero border starts fresh (zero, step 0).</summary>
    public override ParameterStates CarryState(ParameterStates state, NetworkDescription parent, MorphOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(outcome);
        return state.Map($"{Layer}.weight", t => PadKernel(t, NewKernelSize)).KeepMatching(outcome.Network);
    }

    /// <summary>
    /// A conv weight [O, I, K, K] zero-padded, centred, to [O, I, K′, K′] (K′ − K even). Shared with
    /// the branch morph, which pads both branch kernels to a common size before subtracting.
    /// </summary>
    internal static WeightTensor PadKernel(WeightTensor weight, int newKernelSize)
    {
        int k = checked((int)weight.Shape[2]);
        if (newKernelSize == k)
            return weight;
        int margin = (newKernelSize - k) / 2;
        long filters = weight.Shape[0] * weight.Shape[1];
        var source = weight.Values;
        var padded = new double[filters * newKernelSize * newKernelSize];
        for (long f = 0; f < filters; f++)
            for (int row = 0; row < k; row++)
                source.Slice((int)((f * k + row) * k), k)
                    .CopyTo(padded.AsSpan((int)((f * newKernelSize + row + margin) * newKernelSize + margin)));
        return WeightTensor.Wrap([weight.Shape[0], weight.Shape[1], newKernelSize, newKernelSize], padded);
    }

    private static string Convolutions(NetworkDescription network)
    {
        var names = network.AllLayers().OfType<Conv2dLayer>().Select(c => c.Name).ToList();
        return names.Count == 0 ? "(none in this network)" : string.Join(", ", names);
    }
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>kernel(layer, newKernelSize)</c>: zero-pads a convolution's kernel to <paramref name="newKernelSize"/>² (see <see cref="EnlargeKernelStep"/>).</summary>
    public MorphPlan EnlargeKernel(string layer, int newKernelSize) => Add(new EnlargeKernelStep(layer, newKernelSize));
}
