// The TorchSharp modules behind the layers that own parameters (conv, dense, BatchNorm, P-activation, skip).
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Modules;

/// <summary>A layer module whose parameters and buffers are created from <see cref="NetworkWeights"/>.</summary>
internal abstract class LayerModule : nn.Module<Tensor, Tensor>
{
    protected LayerModule(string name) : base(name)
    {
    }

    // Parameters and buffers belong to the module (freed by its Dispose), never to a caller's dispose scope.
    protected Parameter NewParameter(string key, NetworkWeights weights, ScalarType dtype, Device device)
    {
        var parameter = new Parameter(weights[key].ToTorch(dtype, device));
        parameter.DetachFromDisposeScope();
        register_parameter(key[(key.LastIndexOf('.') + 1)..], parameter);
        return parameter;
    }

    protected Tensor NewBuffer(string key, NetworkWeights weights, ScalarType dtype, Device device)
    {
        var buffer = weights[key].ToTorch(dtype, device).DetachFromDisposeScope();
        register_buffer(key[(key.LastIndexOf('.') + 1)..], buffer);
        return buffer;
    }
}

/// <summary>
/// conv2d with the layer's stride, padding, dilation and groups; in float32 on the CPU through the
/// channel padding the numerics self-check chose for its shape (<see cref="ConvolutionNumerics"/>).
/// </summary>
internal sealed class ConvModule : LayerModule
{
    private readonly Conv2dLayer _layer;
    private readonly ConvolutionShape _shape;
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public ConvModule(Conv2dLayer layer, ConvolutionShape shape, NetworkWeights weights, ScalarType dtype, Device device) : base(layer.Name)
    {
        _layer = layer;
        _shape = shape;
        _weight = NewParameter($"{layer.Name}.weight", weights, dtype, device);
        _bias = layer.Bias ? NewParameter($"{layer.Name}.bias", weights, dtype, device) : null;
    }

    public override Tensor forward(Tensor input) =>
        GuardedConvolution.Conv2d(_shape, input, _weight, _bias, _layer.Stride, _layer.Padding, _layer.Dilation, _layer.Groups);
}

/// <summary>Runs a convolution as it is, or padded when the numerics self-check chose that for its shape.</summary>
internal static class GuardedConvolution
{
    public static Tensor Conv2d(ConvolutionShape shape, Tensor input, Tensor weight, Tensor? bias, int stride, int padding, int dilation, int groups)
    {
        if (input.dtype == ScalarType.Float32 && input.device_type == DeviceType.CPU && ConvolutionNumerics.PaddingFor(shape) is { } channels)
            return channels.Conv2d(input, weight, bias, stride, padding, dilation, groups);
        return nn.functional.conv2d(input, weight, bias, [stride], [padding], [dilation], groups);
    }
}

/// <summary>x·Wᵀ + b.</summary>
internal sealed class DenseModule : LayerModule
{
    private readonly Parameter _weight;
    private readonly Parameter? _bias;

    public DenseModule(DenseLayer layer, NetworkWeights weights, ScalarType dtype, Device device) : base(layer.Name)
    {
        _weight = NewParameter($"{layer.Name}.weight", weights, dtype, device);
        _bias = layer.Bias ? NewParameter($"{layer.Name}.bias", weights, dtype, device) : null;
    }

    public override Tensor forward(Tensor input) => nn.functional.linear(input, _weight, _bias);
}

/// <summary>Batch normalisation with running statistics (batch statistics in training mode).</summary>
internal sealed class BatchNormModule : LayerModule
{
    private readonly BatchNormLayer _layer;
    private readonly Parameter _weight;
    private readonly Parameter _bias;
    private readonly Tensor _runningMean;
    private readonly Tensor _runningVar;

    public BatchNormModule(BatchNormLayer layer, NetworkWeights weights, ScalarType dtype, Device device) : base(layer.Name)
    {
        _layer = layer;
        _weight = NewParameter($"{layer.Name}.weight", weights, dtype, device);
        _bias = NewParameter($"{layer.Name}.bias", weights, dtype, device);
        _runningMean = NewBuffer($"{layer.Name}.running_mean", weights, dtype, device);
        _runningVar = NewBuffer($"{layer.Name}.running_var", weights, dtype, device);
    }

    public override Tensor forward(Tensor input) =>
        nn.functional.batch_norm(input, _runningMean, _runningVar, _weight, _bias, training, _layer.Momentum, _layer.Epsilon);
}

/// <summary>
/// The P-activation φₐ(x) = (1 − a)·φ(x) + a·x. At a = 1 it returns x exactly (0·φ(x) + 1·x), and
/// both terms keep a gradient with respect to a there: ∂/∂a = x − φ(x).
/// </summary>
internal sealed class PActivationModule : LayerModule
{
    private readonly ActivationKind _kind;
    private readonly Parameter _a;

    public PActivationModule(ActivationLayer layer, NetworkWeights weights, ScalarType dtype, Device device) : base(layer.Name)
    {
        _kind = layer.Activation;
        _a = NewParameter($"{layer.Name}.a", weights, dtype, device);
    }

    public override Tensor forward(Tensor input) =>
        Activations.Apply(_kind, input).mul(_a.neg().add(1)).add(input.mul(_a));

    /// <summary>Keeps a in [0, 1] (called after every optimizer step).</summary>
    public void Clamp()
    {
        using var noGrad = torch.no_grad();
        _a.clamp_(0, 1);
    }
}

/// <summary>A zero-initialised projection of an earlier blob (1×1 conv or dense, no bias).</summary>
internal sealed class SkipModule : LayerModule
{
    private readonly Parameter _weight;
    private readonly ConvolutionShape? _shape;

    // shape: the 1×1 convolution of an image skip, or null for a vector skip.
    public SkipModule(SkipLayer layer, ConvolutionShape? shape, NetworkWeights weights, ScalarType dtype, Device device) : base(layer.Name)
    {
        _weight = NewParameter($"{layer.Name}.weight", weights, dtype, device);
        _shape = shape;
    }

    /// <summary>The projection of the source blob.</summary>
    public override Tensor forward(Tensor source) =>
        _shape is { } shape ? GuardedConvolution.Conv2d(shape, source, _weight, null, 1, 0, 1, 1) : nn.functional.linear(source, _weight);
}

/// <summary>The plain activation functions.</summary>
internal static class Activations
{
    public static Tensor Apply(ActivationKind kind, Tensor x) => kind switch
    {
        ActivationKind.ReLU => nn.functional.relu(x),
        ActivationKind.TanH => x.tanh(),
        ActivationKind.Sigmoid => x.sigmoid(),
        ActivationKind.ELU => nn.functional.elu(x, 1.0),
        ActivationKind.GELU => nn.functional.gelu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
