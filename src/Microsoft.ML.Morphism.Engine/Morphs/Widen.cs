// The width morph: more channels (or units) in one layer, new units with random incoming and zero outgoing weights.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Grows the convolution or dense layer <paramref name="Layer"/> from C to <paramref name="NewWidth"/>
/// output channels (units). The new units get random incoming weights (Gaussian with the RMS of the
/// layer's existing weights, bias 0) and zero outgoing weights in every layer that consumes them, so
/// the child computes exactly the parent's function for any activation while the new units are alive:
/// their outgoing weights receive gradient from the first step. New channels are appended after the
/// old ones, and everything between the layer and its consumers grows with it: BatchNorm (new channels
/// normalise with mean 0, variance 1, γ 1, β 0), parallel branches that read the blob, skip
/// connections that read or pass it, and a dense layer after <c>flatten</c> (the new
/// (C′ − C)·H·W columns come after the old ones, where flatten puts channels c ≥ C).
/// Plan text form: <c>widen(conv1, 32)</c>.
/// </summary>
/// <remarks>
/// Capacity arrives at once: the new units pass through the layer's existing activation, so they are non-linear
/// units from the first step (their outgoing weights are zero, not their gradient). Optimizer state: padded with
/// fresh entries exactly where the weights grew (<see cref="CarryState"/>).
/// </remarks>
/// <param name="Layer">The convolution (not grouped) or dense layer to widen.</param>
/// <param name="NewWidth">The new number of output channels or units; must exceed the current one.</param>
public sealed record WidenStep(string Layer, int NewWidth) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(2, ["the layer to widen", "the new width"]);
        return new WidenStep(call.Word(0), call.Int(1));
    }

    /// <summary>The layers <see cref="WidenStep"/> accepts in <paramref name="network"/>: ungrouped convolutions and dense layers whose new units a later conv or dense layer absorbs.</summary>
    public static IReadOnlyList<string> WidenableLayers(NetworkDescription network)
    {
        ArgumentNullException.ThrowIfNull(network);
        var names = new List<string>();
        foreach (var layer in network.AllLayers().Where(l => l is Conv2dLayer or DenseLayer))
        {
            try
            {
                WidenPropagation.Trace(network, layer.Name, newWidth: Width(layer) + 1);
                names.Add(layer.Name);
            }
            catch (ArgumentException)
            {
                // Not widenable; the message is what Apply would report for this layer.
            }
        }
        return names;
    }

    /// <inheritdoc/>
    public override string ToString() => Print(NewCall().Add(Layer).Add(NewWidth));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        if (Layer is null || !network.Contains(Layer))
            throw Invalid($"no layer named '{Layer}'. Layers that can be widened: {Choices(network)}.");
        var location = network.Locate(Layer);
        var layer = location.Layer(network);
        if (layer is not (Conv2dLayer or DenseLayer))
            throw Invalid($"'{Layer}' is a {layer.DefaultNamePrefix} layer; only convolutions and dense layers can be widened: {Choices(network)}.");
        int width = Width(layer);
        if (NewWidth <= width)
            throw Invalid($"'{Layer}' already has {width} {(layer is Conv2dLayer ? "channels" : "units")}; widening must grow it " +
                $"(a new width above {width}), shrinking or keeping the width is not a function-preserving morph.");

        WidenPropagation propagation;
        try
        {
            propagation = WidenPropagation.Trace(network, Layer, NewWidth);
        }
        catch (ArgumentException e)
        {
            throw Invalid($"{e.Message} Layers that can be widened: {Choices(network)}.");
        }

        Layer widened = layer switch
        {
            Conv2dLayer conv => conv with { OutChannels = NewWidth },
            DenseLayer dense => dense with { Units = NewWidth },
            _ => throw new InvalidOperationException("unreachable: checked above"),
        };
        var child = network.Replace(location, widened);
        var childWeights = propagation.Apply(weights, context.NewRandom());
        return new MorphOutcome(child, childWeights, this);
    }

    /// <summary>
    /// Optimizer state grows exactly where the weights grew: the widened layer's weight and bias along their output
    /// axis and every consumer along the axis the new units enter, old entries copied, new entries zero in every slot
    /// (so Adam's new entries start at step 0). Parameters the widening did not touch keep their state.
    /// </summary>
    public override ParameterStates CarryState(ParameterStates state, NetworkDescription parent, MorphOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(outcome);
        return WidenPropagation.Trace(parent, Layer, NewWidth).Carry(state).KeepMatching(outcome.Network);
    }

    private static int Width(Layer layer) => layer switch
    {
        Conv2dLayer conv => conv.OutChannels,
        DenseLayer dense => dense.Units,
        _ => 0,
    };

    private static string Choices(NetworkDescription network)
    {
        var names = WidenableLayers(network);
        return names.Count == 0 ? "(none in this network)" : string.Join(", ", names);
    }
}

/// <summary>
/// Where the new units of a widened layer go: which parameters grow, found by following the widened blob
/// forward, each layer kind applying its own rule (<see cref="Networks.Layer.WidenInput"/>). The new entries
/// are always appended at the end of the channel (or feature) axis, so one (old, new) count pair describes
/// the blob at every point.
/// </summary>
internal sealed class WidenPropagation : IWidenTrace
{
    private readonly string _layer;
    private readonly Widening _start;
    private readonly List<(string Key, int Axis, int Size, double Fill)> _growths = [];
    private readonly Dictionary<string, Widening> _widenedTopLevelBlobs = new(StringComparer.Ordinal);

    private WidenPropagation(NetworkDescription network, string layer, Widening start)
    {
        Network = network;
        _layer = layer;
        _start = start;
    }

    /// <inheritdoc/>
    public string Widened => _layer;

    /// <inheritdoc/>
    public NetworkDescription Network { get; }

    /// <summary>Follows the new units of <paramref name="layerName"/>; an <see cref="ArgumentException"/> explains why they cannot be absorbed.</summary>
    public static WidenPropagation Trace(NetworkDescription network, string layerName, int newWidth)
    {
        var location = network.Locate(layerName);
        var layer = location.Layer(network);
        if (layer is Conv2dLayer { Groups: not 1 } grouped)
            throw new ArgumentException($"'{layerName}' is a grouped convolution (groups={grouped.Groups}); widening it would break its groups.");
        var propagation = new WidenPropagation(network, layerName, new Widening(network.Shapes[layerName].Output.Channels, newWidth));
        if (location.IsTopLevel)
            propagation._widenedTopLevelBlobs[layerName] = propagation._start;

        var live = propagation.Follow(location.Sequence(network), location.Index + 1, propagation._start, location.IsTopLevel);
        if (live is not null)
        {
            if (location.IsTopLevel)
                throw new ArgumentException($"'{layerName}' feeds the network output (the logits) with no later convolution or dense layer to take the new units with zero weights; widening it would change the output shape.");
            var block = location.Parent!.Layer(network).Name;
            throw new ArgumentException($"'{layerName}' is inside a branch of parallel block '{block}' and no later convolution or dense layer in that branch takes the new units, " +
                "so the branch would produce more channels than its sibling branches, whose outputs are summed with it.");
        }

        foreach (var reader in network.AllLayers())
            reader.WidenSources(propagation);
        return propagation;
    }

    /// <inheritdoc/>
    public void Grow(string key, int axis, int size, double fill = 0) => _growths.Add((key, axis, size, fill));

    /// <inheritdoc/>
    public Widening? Follow(ImmutableArray<Layer> layers, Widening widening) => Follow(layers, 0, widening, topLevel: false);

    /// <inheritdoc/>
    public Widening? TopLevelBlob(string name) => _widenedTopLevelBlobs.TryGetValue(name, out var widening) ? widening : null;

    /// <summary>
    /// Follows a widened blob through <paramref name="layers"/> from <paramref name="start"/>; returns
    /// the widening still present at the end of the sequence, or null when a layer absorbed it.
    /// </summary>
    private Widening? Follow(ImmutableArray<Layer> layers, int start, Widening widening, bool topLevel)
    {
        for (int i = start; i < layers.Length; i++)
        {
            if (layers[i].WidenInput(widening, this) is not { } output)
                return null;
            widening = output;
            if (topLevel)
                _widenedTopLevelBlobs[layers[i].Name] = widening;
        }
        return widening;
    }

    /// <summary>The child weights: random incoming weights for the new units, zeros (or the recorded fill) wherever they are read.</summary>
    public NetworkWeights Apply(NetworkWeights weights, GaussianRandom random)
    {
        var updated = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        WeightTensor Current(string key) => updated.TryGetValue(key, out var t) ? t : weights[key];

        var weight = weights[$"{_layer}.weight"];
        double std = RootMeanSquare(weight.Values) is > 0 and var rms ? rms : Math.Sqrt(2.0 / NetworkWeights.FanIn(weight.Shape));
        updated[$"{_layer}.weight"] = GrowAxis(weight, axis: 0, _start.New, count => random.Normal(count, std));
        if (weights.Contains($"{_layer}.bias"))
            updated[$"{_layer}.bias"] = GrowAxis(weights[$"{_layer}.bias"], axis: 0, _start.New);
        foreach (var (key, axis, size, fill) in _growths)
            updated[key] = GrowAxis(Current(key), axis, size, fill == 0 ? null : Filled(fill));
        return weights.With(updated);
    }

    /// <summary>
    /// Optimizer state grown like the weights in <see cref="Apply"/>: the same axes and sizes, zeros for the new entries
    /// whatever the weights' fill (a BatchNorm γ of 1 is still fresh state). Fresh parameters stay fresh.
    /// </summary>
    public ParameterStates Carry(ParameterStates state)
    {
        state = state.Map($"{_layer}.weight", t => GrowAxis(t, axis: 0, _start.New));
        state = state.Map($"{_layer}.bias", t => GrowAxis(t, axis: 0, _start.New));
        foreach (var (key, axis, size, _) in _growths)
            state = state.Map(key, t => GrowAxis(t, axis, size));
        return state;
    }

    private static Func<long, double[]> Filled(double value) => count =>
    {
        var values = new double[count];
        Array.Fill(values, value);
        return values;
    };

    private static double RootMeanSquare(ReadOnlySpan<double> values)
    {
        double sum = 0;
        foreach (var v in values)
            sum += v * v;
        return values.Length == 0 ? 0 : Math.Sqrt(sum / values.Length);
    }

    /// <summary>
    /// <paramref name="tensor"/> with its <paramref name="axis"/> grown to <paramref name="newSize"/>; the
    /// new entries come last along that axis and take their values from <paramref name="newValues"/>
    /// (called once with their total count, filled in row-major order), zeros when it is null.
    /// </summary>
    internal static WeightTensor GrowAxis(WeightTensor tensor, int axis, int newSize, Func<long, double[]>? newValues = null)
    {
        var shape = tensor.Shape.ToArray();
        int oldSize = checked((int)shape[axis]);
        long outer = shape[..axis].Aggregate(1L, (a, d) => a * d);
        long inner = shape[(axis + 1)..].Aggregate(1L, (a, d) => a * d);
        long oldBlock = oldSize * inner, addedBlock = (newSize - oldSize) * inner;
        var extra = newValues?.Invoke(outer * addedBlock);
        var source = tensor.Values;
        var grown = new double[outer * (oldBlock + addedBlock)];
        for (long o = 0; o < outer; o++)
        {
            source.Slice((int)(o * oldBlock), (int)oldBlock).CopyTo(grown.AsSpan((int)(o * (oldBlock + addedBlock))));
            extra?.AsSpan((int)(o * addedBlock), (int)addedBlock).CopyTo(grown.AsSpan((int)(o * (oldBlock + addedBlock) + oldBlock)));
        }
        shape[axis] = newSize;
        return WeightTensor.Wrap(shape, grown);
    }
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>widen(layer, newWidth)</c>: grows a conv or dense layer to <paramref name="newWidth"/> channels or units (see <see cref="WidenStep"/>).</summary>
    public MorphPlan Widen(string layer, int newWidth) => Add(new WidenStep(layer, newWidth));
}
