// The depth morph: split a conv/dense layer into itself, a P-activation at the identity and a new layer, exactly.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Solvers;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>How <see cref="DeepenStep"/> chooses the two filters that replace the layer.</summary>
public enum DeepenMethod
{
    /// <summary>
    /// NetMorph: dense exact factorisation (one filter random and semi-orthogonal, the other the
    /// minimum-norm solution) when the width allows it, else the practical variant (a dense random
    /// matrix on the new layer's centre tap).
    /// </summary>
    NetMorph,
    /// <summary>IdMorph: the new layer is the identity on its centre tap; a sparse baseline (Net2Net's "deeper").</summary>
    IdMorph,
}

/// <summary>
/// Inserts a layer after the conv or dense layer <see cref="After"/> (called G here) without changing
/// the network's function. G keeps its name and kernel and becomes F1 (<see cref="Width"/> outputs,
/// stride 1, all of the padding, bias zero); then comes a P-activation at a = 1 (the identity), named
/// <c>{After}_d1_act</c>; then the new layer <c>{After}_d1</c> (F2: a <see cref="KernelSize"/>² conv
/// with G's stride, no padding and G's bias, or a dense layer), with <c>F2 ⊛ F1 = G</c>. Whatever
/// followed G (BatchNorm, activation, skip) follows the new layer. A second deepen of the same layer
/// uses <c>_d2</c>, and so on. Training moves the P-activation's a away from 1, making the new layer
/// non-linear.
/// </summary>
/// <remarks>
/// Capacity arrives only through the P-activation's a: at a = 1, F2 ⊛ F1 is one linear map (a conv with the
/// effective kernel), so the child can express nothing the parent could not until a moves. To force it, see
/// <see cref="Training.TrainingRecipe.ActivationAnnealEpochs"/>; <see cref="InsertIdentityStep"/> is non-linear at once.
/// Optimizer state across a growth point: see <see cref="CarryState"/>.
/// </remarks>
/// <param name="After">The conv or dense layer to split (top level or inside a parallel branch).</param>
/// <param name="KernelSize">The new layer's kernel size: odd, and 1 for dense layers.</param>
/// <param name="Width">
/// Outputs of the split layer (channels between the two). Null: NetMorph picks the smallest width
/// ≥ G's outputs that allows a dense exact factorisation, kept 10 % clear of the widths where the solved system
/// is nearly square when the new kernel is larger than 1×1 (see <see cref="KernelFactorizer.AutomaticWidth"/>);
/// IdMorph uses G's outputs.
/// </param>
/// <param name="Activation">The inserted activation's kind; null takes the kind of the first activation after G in its sequence (before the next conv/dense), else ReLU.</param>
/// <param name="Method">How the two filters are chosen.</param>
public sealed record DeepenStep(string After, int KernelSize = 1, int? Width = null, ActivationKind? Activation = null,
    DeepenMethod Method = DeepenMethod.NetMorph) : MorphStep, IStepText
{
    /// <summary>The solver report's method name for NetMorph's dense exact factorisation.</summary>
    public const string NetMorphDenseMethod = "netmorph-dense";
    /// <summary>The solver report's method name for NetMorph's practical factorisation.</summary>
    public const string NetMorphPracticalMethod = "netmorph-practical";
    /// <summary>The solver report's method name for IdMorph.</summary>
    public const string IdMorphMethod = "idmorph";

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        var (location, layer) = FindLayer(network);
        var (outChannels, kernel) = layer is Conv2dLayer conv ? (conv.OutChannels, conv.KernelSize) : (((DenseLayer)layer).Units, 1);
        int inChannels = network.Shapes[After].Input.Channels;
        CheckRequest(layer, outChannels);
        var (newLayerName, activationName) = NewNames(network);
        // The child's shapes at the requested width (or the layer's own, for an automatic one) are checked against the
        // network limits before anything is solved or allocated; the final width is checked again when the child is built.
        _ = BuildNetwork(network, location, layer, Width ?? outChannels, newLayerName, activationName);

        int seed = context.NewRandom().NextSeed();
        using var scope = NewDisposeScope();
        using var g = weights[$"{After}.weight"].ToTorch().reshape(outChannels, inChannels, kernel, kernel);
        using var factorization = Factorize(g, outChannels, inChannels, kernel, seed);

        var child = BuildNetwork(network, location, layer, factorization.Width, newLayerName, activationName);
        var childWeights = BuildWeights(weights, layer, factorization, newLayerName, activationName);
        var report = new SolverReport(MethodName(factorization.Method), factorization.Width, factorization.Residual,
            factorization.Density, factorization.Elapsed.TotalMilliseconds);
        return new MorphOutcome(child, childWeights, this with { Width = factorization.Width }, report);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        Print(NewCall().Add(After).Option("kernel", KernelSize, 1).Option("width", Width, null).Option("activation", Activation, null)
            .Option("method", Method, DeepenMethod.NetMorph));

    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(1, ["the layer to deepen"], "kernel", "width", "activation", "method");
        return new DeepenStep(call.Word(0), call.Int("kernel", 1), call.Int("width"), call.Enum<ActivationKind>("activation"),
            call.Enum<DeepenMethod>("method") ?? DeepenMethod.NetMorph);
    }

    private (LayerLocation Location, Layer Layer) FindLayer(NetworkDescription network)
    {
        var candidates = string.Join(", ", network.AllLayers().Where(l => l is Conv2dLayer or DenseLayer).Select(l => l.Name));
        if (string.IsNullOrEmpty(After) || !network.Contains(After))
            throw Invalid($"there is no layer named '{After}'. Conv and dense layers: {candidates}.");
        var location = network.Locate(After);
        var layer = location.Layer(network);
        if (layer is not (Conv2dLayer or DenseLayer))
            throw Invalid($"layer '{After}' is a {layer.DefaultNamePrefix} layer; only conv and dense layers can be deepened: {candidates}.");
        return (location, layer);
    }

    private void CheckRequest(Layer layer, int outChannels)
    {
        if (layer is Conv2dLayer { Dilation: not 1 } dilated)
            throw Invalid($"layer '{After}' is dilated (dilation={dilated.Dilation}); only undilated convolutions can be deepened.");
        if (layer is Conv2dLayer { Groups: not 1 } grouped)
            throw Invalid($"layer '{After}' is grouped (groups={grouped.Groups}); only ungrouped convolutions can be deepened.");
        if (KernelSize <= 0 || KernelSize % 2 == 0)
            throw Invalid($"kernel={KernelSize} for the layer after '{After}' must be odd and positive (1, 3, 5, ...), so that '{After}' stays centred.");
        if (layer is DenseLayer && KernelSize != 1)
            throw Invalid($"'{After}' is a dense layer, so the new layer is dense too: kernel must be 1 (got {KernelSize}).");
        if (Width is <= 0)
            throw Invalid($"width={Width} for '{After}' must be positive.");
        if (Method == DeepenMethod.IdMorph && Width < outChannels)
            throw Invalid($"width={Width} is below the minimum for IdMorph on '{After}': at least its {outChannels} outputs.");
    }

    private KernelFactorization Factorize(Tensor g, int outChannels, int inChannels, int kernel, int seed)
    {
        if (Method == DeepenMethod.IdMorph)
            return KernelFactorizer.IdMorph(g, KernelSize, Width ?? outChannels, seed);
        if (Width is not { } width)
            return KernelFactorizer.NetMorphDenseAutomaticWidth(g, KernelSize, outChannels, seed);

        if (KernelFactorizer.MeetsSolvabilityCondition(outChannels, inChannels, kernel, KernelSize, width))
        {
            var dense = KernelFactorizer.NetMorphDense(g, KernelSize, width, seed);
            if (dense.IsExact)
                return dense;
            dense.Dispose(); // a rank-deficient width (see NetMorphDenseAutomaticWidth): fall through to practical
        }
        if (width >= outChannels)
            return KernelFactorizer.NetMorphPractical(g, KernelSize, width, seed);
        int minimum = Math.Min(outChannels, KernelFactorizer.SmallestWidthMeetingCondition(outChannels, inChannels, kernel, KernelSize));
        throw Invalid($"width={width} is below the minimum for NetMorph on '{After}' ({outChannels} outputs, {inChannels} inputs, " +
            $"kernel {kernel} then {KernelSize}): use at least {outChannels}, or a width for which the dense factorisation is exact (from {minimum}).");
    }

    /// <summary>
    /// Optimizer state follows the values, not the names. NetMorph re-solves both factors, so F1 (which keeps G's name)
    /// and F2 start fresh (zero moments, step 0) — G's state describes G's weights, not F1's. IdMorph keeps G's weights
    /// in F1 (<see cref="KernelFactorizer.IdMorph"/>: F1 = G, plus fresh rows for extra width), so F1 inherits G's state
    /// and the identity F2 starts fresh. Either way G's bias moves unchanged to F2, and its state with it (its gradient at
    /// the growth point is G's bias gradient); F1's bias (zero) and the P-activation's a start fresh. Everything else is kept.
    /// </summary>
    public override ParameterStates CarryState(ParameterStates state, NetworkDescription parent, MorphOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(outcome);
        var (newLayerName, _) = NewNames(parent);
        string weight = $"{After}.weight", bias = $"{After}.bias";
        var carried = state.Move(bias, $"{newLayerName}.bias");
        if (Method == DeepenMethod.IdMorph)
        {
            int width = checked((int)outcome.Weights[weight].Shape[0]);
            carried = carried.Map(weight, t => WidenPropagation.GrowAxis(t, axis: 0, width));
        }
        else
        {
            carried = carried.Without(weight);
        }
        return carried.KeepMatching(outcome.Network);
    }

    /// <summary>The first free <c>{After}_dN</c> / <c>{After}_dN_act</c> pair, N = 1, 2, ...</summary>
    private (string NewLayer, string Activation) NewNames(NetworkDescription network)
    {
        for (int n = 1; ; n++)
        {
            var newLayer = $"{After}_d{n}";
            var activation = $"{newLayer}_act";
            if (network.UniqueName(newLayer) == newLayer && network.UniqueName(activation, [newLayer]) == activation)
                return (newLayer, activation);
        }
    }

    private NetworkDescription BuildNetwork(NetworkDescription network, LayerLocation location, Layer layer, int width,
        string newLayerName, string activationName)
    {
        int halo = (KernelSize - 1) / 2;
        var (first, second) = layer switch
        {
            Conv2dLayer conv => ((Layer)(conv with { OutChannels = width, Stride = 1, Padding = conv.Padding + halo }),
                (Layer)new Conv2dLayer(newLayerName, conv.OutChannels, KernelSize, conv.Stride, Padding: 0, Bias: conv.Bias) { Morphed = true }),
            DenseLayer dense => (dense with { Units = width },
                new DenseLayer(newLayerName, dense.Units, dense.Bias) { Morphed = true }),
            _ => throw new InvalidOperationException($"'{After}' is neither conv nor dense."),
        };
        var activation = new ActivationLayer(activationName, InsertedActivation(network, location), Parametric: true) { Morphed = true };
        Layer[] replacement = [first, activation, second];
        if (!location.IsTopLevel)
            return network.Replace(location, replacement); // skip layers only read top-level blobs

        // A skip that read G's output must now read the new layer's: the name After denotes F1's output.
        var layers = network.Layers
            .Select(l => l is SkipLayer skip && skip.From == After ? skip with { From = newLayerName } : l)
            .ToList();
        layers.RemoveAt(location.Index);
        layers.InsertRange(location.Index, replacement);
        return new NetworkDescription(network.Input, layers);
    }

    private ActivationKind InsertedActivation(NetworkDescription network, LayerLocation location)
    {
        if (Activation is { } chosen)
            return chosen;
        foreach (var next in location.Sequence(network).Skip(location.Index + 1))
        {
            if (next is ActivationLayer activation)
                return activation.Activation;
            if (next is Conv2dLayer or DenseLayer or ParallelLayer)
                break;
        }
        return ActivationKind.ReLU;
    }

    private NetworkWeights BuildWeights(NetworkWeights weights, Layer layer, KernelFactorization factorization,
        string newLayerName, string activationName)
    {
        bool bias = layer is Conv2dLayer { Bias: true } or DenseLayer { Bias: true };
        var first = WeightTensor.FromTorch(layer is DenseLayer ? factorization.First.flatten(1) : factorization.First);
        var second = WeightTensor.FromTorch(layer is DenseLayer ? factorization.Second.flatten(1) : factorization.Second);
        var updates = new Dictionary<string, WeightTensor>(StringComparer.Ordinal)
        {
            [$"{After}.weight"] = first,
            [$"{activationName}.a"] = WeightTensor.Filled(1.0, 1),
            [$"{newLayerName}.weight"] = second,
        };
        if (bias)
        {
            updates[$"{After}.bias"] = WeightTensor.Zeros(factorization.Width);
            updates[$"{newLayerName}.bias"] = weights[$"{After}.bias"];
        }
        // NetworkWeights rounds the new values to the parent's precision on construction.
        return weights.With(updates);
    }

    private static string MethodName(FactorizationMethod method) => method switch
    {
        FactorizationMethod.NetMorphDense => NetMorphDenseMethod,
        FactorizationMethod.NetMorphPractical => NetMorphPracticalMethod,
        _ => IdMorphMethod,
    };
}

public sealed partial class MorphPlan
{
    /// <summary>
    /// Appends a <see cref="DeepenStep"/>: inserts a layer (a P-activation at the identity and a new
    /// <paramref name="kernelSize"/>² conv or dense layer) after the conv/dense layer <paramref name="after"/>.
    /// </summary>
    public MorphPlan Deepen(string after, int kernelSize = 1, int? width = null, ActivationKind? activation = null,
        DeepenMethod method = DeepenMethod.NetMorph) =>
        Add(new DeepenStep(after, kernelSize, width, activation, method));
}
