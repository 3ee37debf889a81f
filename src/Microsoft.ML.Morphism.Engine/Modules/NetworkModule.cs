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
    private readonly Dictionary<string, LayerModule> _modules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sources;

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
        var convolutions = ConvolutionNumerics.ConvolutionsOf(network).ToDictionary(c => c.Layer, c => c.Shape, StringComparer.Ordinal);
        // Before the first convolution of this network runs: libtorch must compute its float32 convs right on this CPU.
        if (DType == ScalarType.Float32 && Device.type == DeviceType.CPU && convolutions.Count > 0)
            ConvolutionNumerics.EnsureVerified(convolutions.Select(c => (c.Key, c.Value)));

        // Every layer's module, nested ones included, registered flat under the layer name: parameters are "conv1.weight", ...
        var build = new ModuleBuild(weights, DType, Device, convolutions);
        foreach (var layer in network.AllLayers())
        {
            var module = LayerModule.Create(layer, build);
            register_module(layer.Name, module);
            _modules[layer.Name] = module;
        }
        _sources = _modules.Values.SelectMany(m => m.Sources).ToHashSet(StringComparer.Ordinal);
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

        var pass = new NetworkPass(_modules, capture, RandomSource);
        if (_sources.Contains(SkipLayer.NetworkInput))
            pass.Blobs[SkipLayer.NetworkInput] = input;
        // Without autograd (scoring, validation) nothing needs a top-level layer's temporaries after it ran, nor its input
        // once its output exists: each layer runs in its own dispose scope and its input is freed at once, so one pass holds
        // about two layers' outputs instead of every intermediate (skip sources and the caller's input stay).
        bool free = !torch.is_grad_enabled() && capture is null;
        var x = input;
        foreach (var layer in Network.Layers)
        {
            var previous = x;
            if (free)
            {
                using var layerScope = NewDisposeScope();
                x = pass.Run(layer, x);
                if (!ReferenceEquals(x, previous))
                    layerScope.MoveToOuter(x);
            }
            else
            {
                x = pass.Run(layer, x);
            }
            if (_sources.Contains(layer.Name))
                pass.Blobs[layer.Name] = x;
            if (free && !ReferenceEquals(previous, input) && !ReferenceEquals(previous, x) && !pass.Blobs.Values.Any(b => ReferenceEquals(b, previous)))
                previous.Dispose();
            if (pass.Captured is not null)
                break;
        }
        captured = pass.Captured;
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

    /// <summary>Clamps every P-activation's a into [0, 1]; call after each optimizer step (its Scalars are held: see <see cref="HeldScalars"/>).</summary>
    public void ClampActivations()
    {
        foreach (var module in _modules.Values)
            module.Constrain();
    }

    /// <summary>Lowers the a of the P-activation <paramref name="layer"/> to at most <paramref name="max"/> (annealing toward the plain activation).</summary>
    internal void CapActivation(string layer, double max)
    {
        using var noGrad = torch.no_grad();
        foreach (var (name, parameter) in _modules[layer].named_parameters())
            if (name == "a")
            {
                using var cap = max.ToScalar();
                parameter.clamp_max_(cap);
            }
    }

    /// <summary>The current a of every P-activation, by layer name.</summary>
    public IReadOnlyDictionary<string, double> ActivationLinearity() =>
        named_parameters().Where(p => p.name.EndsWith(".a", StringComparison.Ordinal))
            .ToDictionary(p => p.name[..^2], p => p.parameter.to(ScalarType.Float64).item<double>());
}
