// A TorchSharp module that runs a network description with given weights, and reads the weights back.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Modules;

/// <summary>
/// Runs a <see cref="NetworkDescription"/> in TorchSharp. Parameters are registered under the same
/// keys as <see cref="NetworkWeights"/> (<c>conv1.weight</c>, <c>bn1.running_mean</c>, ...), created on
/// <see cref="Device"/> in the weights' precision. <see cref="ReadWeights"/> copies them back.
/// Input: a batch shaped <c>[N, ...Network.Input]</c>; output: logits <c>[N, ...Network.Output]</c>.
/// </summary>
public sealed class NetworkModule : nn.Module<Tensor, Tensor>
{
    private readonly Dictionary<string, nn.Module<Tensor, Tensor>> _modules = new(StringComparer.Ordinal);
    private readonly List<PActivationModule> _pActivations = [];
    private readonly HashSet<string> _skipSources;

    /// <summary>Builds the module; the weights are validated against the description first.</summary>
    public NetworkModule(NetworkDescription network, NetworkWeights weights, Device? device = null) : base("network")
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate(network);
        Network = network;
        Precision = weights.Precision;
        Device = device ?? CPU;
        DType = weights.Precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        _skipSources = network.AllLayers().OfType<SkipLayer>().Select(s => s.From).ToHashSet(StringComparer.Ordinal);
        var convolutions = ConvolutionNumerics.ConvolutionsOf(network).ToDictionary(c => c.Layer, c => c.Shape, StringComparer.Ordinal);
        // Before the first convolution of this network runs: libtorch must compute its float32 convs right on this CPU.
        if (DType == ScalarType.Float32 && Device.type == DeviceType.CPU && convolutions.Count > 0)
            ConvolutionNumerics.EnsureVerified(convolutions.Select(c => (c.Key, c.Value)));

        foreach (var layer in network.AllLayers())
        {
            nn.Module<Tensor, Tensor>? module = layer switch
            {
                Conv2dLayer conv => new ConvModule(conv, convolutions[conv.Name], weights, DType, Device),
                DenseLayer dense => new DenseModule(dense, weights, DType, Device),
                BatchNormLayer bn => new BatchNormModule(bn, weights, DType, Device),
                ActivationLayer { Parametric: true } act => new PActivationModule(act, weights, DType, Device),
                SkipLayer skip => new SkipModule(skip, convolutions.GetValueOrDefault(skip.Name), weights, DType, Device),
                _ => null,
            };
            if (module is null)
                continue;
            register_module(layer.Name, module);
            _modules[layer.Name] = module;
            if (module is PActivationModule p)
                _pActivations.Add(p);
        }
    }

    /// <summary>The description this module runs.</summary>
    public NetworkDescription Network { get; }

    /// <summary>The precision of the parameters.</summary>
    public Precision Precision { get; }

    /// <summary>The TorchSharp dtype of the parameters (and of the expected input).</summary>
    public ScalarType DType { get; }

    /// <summary>Where the parameters live.</summary>
    public Device Device { get; }

    /// <summary>Logits for a batch <c>[N, ...Network.Input]</c>.</summary>
    public override Tensor forward(Tensor input) => Run(input, capture: null, out _);

    /// <summary>
    /// The output blob of the layer called <paramref name="layerName"/> (top-level or inside a branch)
    /// for a batch <c>[N, ...Network.Input]</c>; the rest of the network is not run past the top-level
    /// layer that contains it.
    /// </summary>
    public Tensor Blob(Tensor input, string layerName)
    {
        Network.Locate(layerName); // clear error for unknown names
        Run(input, layerName, out var blob);
        return blob!;
    }

    private Tensor Run(Tensor input, string? capture, out Tensor? captured)
    {
        var expected = Network.Input.Dimensions;
        if (input.dim() != expected.Length + 1 || !input.shape.Skip(1).SequenceEqual(expected.Select(d => (long)d)))
            throw new ArgumentException($"The network expects input batches shaped [N, {string.Join(", ", expected)}] but got [{string.Join(", ", input.shape)}].");
        if (input.dtype != DType)
            throw new ArgumentException($"The network runs in {DType} but the input is {input.dtype}.");

        var blobs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (_skipSources.Contains(SkipLayer.NetworkInput))
            blobs[SkipLayer.NetworkInput] = input;
        var x = input;
        captured = null;
        foreach (var layer in Network.Layers)
        {
            x = Apply(layer, x, blobs, capture, ref captured);
            if (_skipSources.Contains(layer.Name))
                blobs[layer.Name] = x;
            if (captured is not null)
                break;
        }
        return x;
    }

    /// <summary>
    /// The generator dropout masks are drawn from in training mode (a trainer sets its own, seeded,
    /// so training never touches TorchSharp's process-wide generator).
    /// </summary>
    public Generator? RandomSource { get; set; }

    /// <summary>Copies the current parameters and buffers back into <see cref="NetworkWeights"/>.</summary>
    public NetworkWeights ReadWeights()
    {
        var state = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in named_parameters())
            state[name] = WeightTensor.FromTorch(parameter);
        foreach (var (name, buffer) in named_buffers())
            state[name] = WeightTensor.FromTorch(buffer);
        return new NetworkWeights(state, Precision);
    }

    /// <summary>The name of the first parameter or buffer holding a NaN or infinity, or null when all are finite.</summary>
    public string? NonFiniteParameter()
    {
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        return named_parameters().Select(p => (p.name, Tensor: (Tensor)p.parameter)).Concat(named_buffers().Select(b => (b.name, Tensor: b.buffer)))
            .FirstOrDefault(p => !p.Tensor.isfinite().all().item<bool>()).name;
    }

    /// <summary>Clamps every P-activation's a into [0, 1]; call after each optimizer step.</summary>
    public void ClampActivations()
    {
        foreach (var p in _pActivations)
            p.Clamp();
    }

    /// <summary>The current a of every P-activation, by layer name.</summary>
    public IReadOnlyDictionary<string, double> ActivationLinearity() =>
        named_parameters().Where(p => p.name.EndsWith(".a", StringComparison.Ordinal))
            .ToDictionary(p => p.name[..^2], p => p.parameter.to(ScalarType.Float64).item<double>());

    private Tensor Apply(Layer layer, Tensor x, Dictionary<string, Tensor> blobs, string? capture, ref Tensor? captured)
    {
        var y = layer is ParallelLayer parallel ? Sum(parallel, x, blobs, capture, ref captured) : Apply(layer, x, blobs);
        if (layer.Name == capture)
            captured = y;
        return y;
    }

    private Tensor Apply(Layer layer, Tensor x, Dictionary<string, Tensor> blobs) => layer switch
    {
        ActivationLayer { Parametric: false } act => Activations.Apply(act.Activation, x),
        Pool2dLayer { Pool: PoolKind.Max } p => nn.functional.max_pool2d(x, [p.KernelSize], [p.Stride], [p.Padding]),
        Pool2dLayer p => nn.functional.avg_pool2d(x, [p.KernelSize], [p.Stride], [p.Padding]),
        GlobalAvgPoolLayer => x.mean([2, 3]),
        DropoutLayer d => Dropout(x, d.Rate),
        FlattenLayer => x.flatten(1),
        SkipLayer skip => x.add(_modules[skip.Name].forward(blobs[skip.From])),
        _ => _modules[layer.Name].forward(x),
    };

    private Tensor Dropout(Tensor x, double rate)
    {
        if (!training || rate == 0)
            return x;
        var keep = rand(x.shape, x.dtype, x.device, generator: RandomSource).ge_(rate);
        return x.mul(keep).div_(1 - rate);
    }

    private Tensor Sum(ParallelLayer parallel, Tensor x, Dictionary<string, Tensor> blobs, string? capture, ref Tensor? captured)
    {
        Tensor? sum = null;
        foreach (var branch in parallel.Branches)
        {
            var y = x;
            foreach (var layer in branch)
                y = Apply(layer, y, blobs, capture, ref captured);
            sum = sum is null ? y : sum.add(y);
        }
        return sum!;
    }
}
