// The bounds every network must stay within — parsed, loaded or made by a morph — so one scored row has bounded time and memory.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// Limits on one image's pass through a network, checked whenever a <see cref="NetworkDescription"/> is made (text, JSON,
/// a saved model, a morph's child), before any tensor exists: a network beyond them is an <see cref="ArgumentException"/>
/// naming the layer and the limit (a <see cref="FormatException"/> from the parsers, a damaged-part error at load). A
/// model file is untrusted input: without them, a 4 KB network such as <c>input(1,8,8) conv(1,1,pad=8000) relu gap
/// dense(3)</c> loads and then takes seconds and gigabytes per scored row. The defaults fit the image classifiers this
/// library is for with a wide margin; a process that really needs more sets <see cref="Current"/> once at start-up.
/// </summary>
public sealed record NetworkLimits
{
    /// <summary>The limits in force for the whole process (default: <see cref="Default"/>).</summary>
    public static NetworkLimits Current
    {
        get => _current;
        set => _current = value ?? throw new ArgumentNullException(nameof(value));
    }

    private static volatile NetworkLimits _current = new();

    /// <summary>The defaults.</summary>
    public static NetworkLimits Default { get; } = new();

    /// <summary>Values of the input or of any one layer's output, per image (default 2^24 = 16,777,216: 64 MB as float32).</summary>
    public long MaxValuesPerLayer { get; init; } = 1L << 24;

    /// <summary>Values of the input and every layer's output together, per image (default 2^25 = 33,554,432: 128 MB as float32).</summary>
    public long MaxActivationValues { get; init; } = 1L << 25;

    /// <summary>Forward multiply-accumulates per image (<see cref="NetworkDescription.ForwardMacs"/>; default 5·10^9, ResNet-50's 4.1·10^9 fits).</summary>
    public long MaxForwardMacs { get; init; } = 5_000_000_000;

    /// <summary>Values read by pooling windows per image, output values × window area (default 2^29 = 536,870,912).</summary>
    public long MaxPoolingReads { get; init; } = 1L << 29;

    /// <summary>Stored values: parameters and buffers (default 2^27 = 134,217,728: 512 MB as float32).</summary>
    public long MaxParameters { get; init; } = 1L << 27;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first layer or total of <paramref name="network"/> beyond a limit.</summary>
    internal void Check(NetworkDescription network)
    {
        // In double: the sums (and the padded sizes) of a forged network can exceed a long.
        Within(Values(network.Input), MaxValuesPerLayer, nameof(MaxValuesPerLayer), $"The input ({network.Input}) has", "values per image");
        double activations = Values(network.Input), macs = 0, reads = 0, parameters = 0;
        var macsBy = new Dictionary<string, double>(StringComparer.Ordinal);
        var parametersBy = new Dictionary<string, double>(StringComparer.Ordinal);
        (string Layer, double Values) largest = ("input", activations);
        foreach (var layer in network.AllLayers())
        {
            var shapes = network.Shapes[layer.Name];
            double outputs = Values(shapes.Output);
            Within(outputs, MaxValuesPerLayer, nameof(MaxValuesPerLayer), $"Layer '{layer.Name}' outputs {shapes.Output}, that is", "values per image");
            activations += outputs;
            if (outputs > largest.Values)
                largest = (layer.Name, outputs);
            if (layer is Conv2dLayer conv)
            {
                // libtorch's convolutions may copy the zero-padded input, and on CPUs where the numerics self-check chose
                // channel padding (README, "Correct on every CPU") a convolution runs with its channels rounded up to 16:
                // bounded for the worst case, so a model that loads on one machine loads on every machine.
                double padded = ChannelBlock(shapes.Input.Channels) * (shapes.Input.Height + 2.0 * conv.Padding) * (shapes.Input.Width + 2.0 * conv.Padding);
                Within(padded, MaxValuesPerLayer, nameof(MaxValuesPerLayer),
                    $"Layer '{layer.Name}' reads its {shapes.Input} input padded by {conv.Padding} on each side, channels rounded up to {Platform.ChannelPadding.Block}: that is", "values per image");
                double blocked = ChannelBlock(shapes.Output.Channels) * (double)shapes.Output.Height * shapes.Output.Width;
                Within(blocked, MaxValuesPerLayer, nameof(MaxValuesPerLayer),
                    $"Layer '{layer.Name}' outputs {shapes.Output}, channels rounded up to {Platform.ChannelPadding.Block}: that is", "values per image");
            }
            else if (layer is Pool2dLayer { Padding: > 0 } padded)
            {
                double values = (double)shapes.Input.Channels * (shapes.Input.Height + 2.0 * padded.Padding) * (shapes.Input.Width + 2.0 * padded.Padding);
                Within(values, MaxValuesPerLayer, nameof(MaxValuesPerLayer), $"Layer '{layer.Name}' pads its {shapes.Input} input by {padded.Padding} on each side, that is", "values per image");
            }
            if (layer is Pool2dLayer pool)
            {
                double read = outputs * pool.KernelSize * pool.KernelSize;
                Within(read, MaxPoolingReads, nameof(MaxPoolingReads), $"Layer '{layer.Name}' ({pool.KernelSize}×{pool.KernelSize} windows) reads", "values per image");
                reads += read;
            }
        }
        foreach (var p in network.ParameterSpecs)
        {
            double count = p.Shape.Aggregate(1.0, (a, d) => a * d);
            parameters += count;
            parametersBy[p.Layer] = parametersBy.GetValueOrDefault(p.Layer) + count;
            if (p.Role is ParameterRole.Weight or ParameterRole.SkipProjection)
            {
                var output = network.Shapes[p.Layer].Output;
                double layerMacs = count * output.Height * output.Width;
                macs += layerMacs;
                macsBy[p.Layer] = macsBy.GetValueOrDefault(p.Layer) + layerMacs;
            }
        }
        Within(activations, MaxActivationValues, nameof(MaxActivationValues), "The input and the layers' outputs total", $"values per image (the largest: '{largest.Layer}', {largest.Values:N0})");
        Within(macs, MaxForwardMacs, nameof(MaxForwardMacs), "The network needs", $"forward multiply-accumulates per image (the most: layer {Most(macsBy)})");
        Within(reads, MaxPoolingReads, nameof(MaxPoolingReads), "The pooling layers read", "values per image");
        Within(parameters, MaxParameters, nameof(MaxParameters), "The network stores", $"parameters (the most: layer {Most(parametersBy)})");
    }

    private static double ChannelBlock(int channels) =>
        Math.Ceiling(channels / (double)Platform.ChannelPadding.Block) * Platform.ChannelPadding.Block;

    private static double Values(TensorShape shape) => shape.Dimensions.Aggregate(1.0, (a, d) => a * d);

    private static string Most(Dictionary<string, double> byLayer)
    {
        var (layer, value) = byLayer.Count == 0 ? ("-", 0.0) : byLayer.MaxBy(kv => kv.Value) is var kv ? (kv.Key, kv.Value) : default;
        return $"'{layer}', {value:N0}";
    }

    private static void Within(double value, long limit, string name, string what, string unit)
    {
        if (value > limit)
            throw new ArgumentException($"{what} {value:N0} {unit}; the limit is {limit:N0} ({nameof(NetworkLimits)}.{name}).");
    }
}
