// The base of the TorchSharp module each layer kind runs as (declared next to its record), how one is found and built, and one forward pass.
using System.Reflection;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Modules;

/// <summary>
/// The module that runs one layer. Each layer kind declares one, a <see cref="LayerModule{TLayer}"/> with a
/// constructor <c>(TLayer layer, ModuleBuild build)</c> (or <c>(TLayer layer)</c>), in the file of its record; <see cref="Create"/>
/// finds it by the record type, so the description records never refer to TorchSharp.
/// </summary>
internal abstract class LayerModule : nn.Module<Tensor, Tensor>
{
    // Record type -> how to build the module that runs it, from the LayerModule<TLayer> classes of this assembly.
    private static readonly Dictionary<Type, Func<Layer, ModuleBuild, LayerModule>> Factories = typeof(LayerModule).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && t.BaseType is { IsGenericType: true } b && b.GetGenericTypeDefinition() == typeof(LayerModule<>))
        .ToDictionary(t => t.BaseType!.GetGenericArguments()[0], Factory);

    protected LayerModule(string name) : base(name)
    {
    }

    /// <summary>The module for <paramref name="layer"/>, its parameters taken from the build's weights.</summary>
    public static LayerModule Create(Layer layer, ModuleBuild build) =>
        Factories.TryGetValue(layer.GetType(), out var create) ? create(layer, build)
            : throw new InvalidOperationException($"Layer kind {layer.GetType().Name} has no module: declare a {nameof(LayerModule)}<{layer.GetType().Name}> next to it.");

    // The constructor (TLayer layer, ModuleBuild build), or (TLayer layer) for a module without parameters.
    private static Func<Layer, ModuleBuild, LayerModule> Factory(Type module)
    {
        var kind = module.BaseType!.GetGenericArguments()[0];
        if (module.GetConstructor([kind, typeof(ModuleBuild)]) is { } withBuild)
            return (layer, build) => (LayerModule)withBuild.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, [layer, build], culture: null);
        if (module.GetConstructor([kind]) is { } layerOnly)
            return (layer, _) => (LayerModule)layerOnly.Invoke(BindingFlags.DoNotWrapExceptions, binder: null, [layer], culture: null);
        throw new InvalidOperationException($"{module.Name} needs a constructor ({kind.Name} layer, {nameof(ModuleBuild)} build) or ({kind.Name} layer).");
    }

    /// <summary>The names of the earlier blobs this layer reads besides its input (a skip's source).</summary>
    public virtual IEnumerable<string> Sources => [];

    /// <summary>Runs the layer on <paramref name="input"/> within <paramref name="pass"/> (by default, <c>forward</c>).</summary>
    public virtual Tensor Run(Tensor input, NetworkPass pass) => forward(input);

    /// <summary>Brings parameters back into their valid range after an optimizer step (a P-activation's a into [0, 1]).</summary>
    public virtual void Constrain()
    {
    }

    // Parameters and buffers belong to the module (freed by its Dispose), never to a caller's dispose scope.
    protected Parameter NewParameter(string key, ModuleBuild build)
    {
        var parameter = new Parameter(build.Weights[key].ToTorch(build.DType, build.Device));
        parameter.DetachFromDisposeScope();
        register_parameter(key[(key.LastIndexOf('.') + 1)..], parameter);
        return parameter;
    }

    protected Tensor NewBuffer(string key, ModuleBuild build)
    {
        var buffer = build.Weights[key].ToTorch(build.DType, build.Device).DetachFromDisposeScope();
        register_buffer(key[(key.LastIndexOf('.') + 1)..], buffer);
        return buffer;
    }
}

/// <summary>The module of layer kind <typeparamref name="TLayer"/>; subclasses take <c>(TLayer layer, ModuleBuild build)</c> or <c>(TLayer layer)</c>.</summary>
internal abstract class LayerModule<TLayer>(TLayer layer) : LayerModule(layer.Name) where TLayer : Layer
{
    /// <summary>The layer this module runs.</summary>
    protected TLayer Layer { get; } = layer;
}

/// <summary>What building a layer's module needs: the weights, dtype and device, and the convolution shapes the numerics check chose paths for.</summary>
internal sealed record ModuleBuild(NetworkWeights Weights, ScalarType DType, Device Device, IReadOnlyDictionary<string, ConvolutionShape> Convolutions);

/// <summary>
/// One forward pass: the modules by layer name, the top-level blobs later layers read (skip sources),
/// the layer whose output is wanted (<see cref="NetworkModule.Blob"/>) and the dropout generator.
/// </summary>
internal sealed class NetworkPass(IReadOnlyDictionary<string, LayerModule> modules, string? capture, Generator? random)
{
    /// <summary>The blobs read by name: the network input and top-level outputs.</summary>
    public Dictionary<string, Tensor> Blobs { get; } = new(StringComparer.Ordinal);

    /// <summary>The output of the layer asked for, once it ran.</summary>
    public Tensor? Captured { get; private set; }

    /// <summary>The generator dropout masks are drawn from (null: TorchSharp's default).</summary>
    public Generator? Random => random;

    /// <summary>Runs <paramref name="layer"/> (top-level or nested) on <paramref name="input"/>.</summary>
    public Tensor Run(Layer layer, Tensor input)
    {
        var output = modules[layer.Name].Run(input, this);
        if (layer.Name == capture)
            Captured = output;
        return output;
    }
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
