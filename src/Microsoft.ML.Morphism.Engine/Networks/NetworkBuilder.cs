// Fluent C# construction of a network description, with the same defaults as the text form.
using System.Collections.Immutable;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// Builds a sequence of layers. Unnamed layers get default names (kind prefix plus a 1-based index)
/// when the network is built; conv padding defaults to "same" for odd kernels.
/// <code>
/// var net = new NetworkBuilder(TensorShape.Image(1, 28, 28))
///     .Conv(16, 3).ReLU().MaxPool(2).Conv(32, 3).ReLU().MaxPool(2)
///     .Flatten().Dense(64).ReLU().Dense(10)
///     .Build();
/// </code>
/// </summary>
public class SequenceBuilder<TSelf> where TSelf : SequenceBuilder<TSelf>
{
    private readonly ImmutableArray<Layer>.Builder _layers = ImmutableArray.CreateBuilder<Layer>();

    private protected ImmutableArray<Layer> BuiltLayers => _layers.ToImmutable();

    /// <summary>Appends any layer record (name "" for a default name).</summary>
    public TSelf Add(Layer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        _layers.Add(layer);
        return (TSelf)this;
    }

    /// <summary>A convolution; <paramref name="padding"/> null means "same" for odd kernels, 0 for even ones.</summary>
    public TSelf Conv(int outChannels, int kernelSize, int stride = 1, int? padding = null, int dilation = 1, int groups = 1, bool bias = true, string? name = null) =>
        Add(new Conv2dLayer(name ?? "", outChannels, kernelSize, stride, padding ?? Conv2dLayer.SamePadding(kernelSize, dilation), dilation, groups, bias));

    /// <summary>A dense layer.</summary>
    public TSelf Dense(int units, bool bias = true, string? name = null) => Add(new DenseLayer(name ?? "", units, bias));

    /// <summary>An activation (a P-activation when <paramref name="parametric"/>).</summary>
    public TSelf Activation(ActivationKind kind, bool parametric = false, string? name = null) => Add(new ActivationLayer(name ?? "", kind, parametric));

    /// <summary>ReLU.</summary>
    public TSelf ReLU(string? name = null) => Activation(ActivationKind.ReLU, name: name);

    /// <summary>TanH.</summary>
    public TSelf TanH(string? name = null) => Activation(ActivationKind.TanH, name: name);

    /// <summary>Sigmoid.</summary>
    public TSelf Sigmoid(string? name = null) => Activation(ActivationKind.Sigmoid, name: name);

    /// <summary>Max pooling (stride defaults to the window size).</summary>
    public TSelf MaxPool(int kernelSize, int? stride = null, int padding = 0, string? name = null) =>
        Add(new Pool2dLayer(name ?? "", PoolKind.Max, kernelSize, stride ?? kernelSize, padding));

    /// <summary>Average pooling (stride defaults to the window size).</summary>
    public TSelf AvgPool(int kernelSize, int? stride = null, int padding = 0, string? name = null) =>
        Add(new Pool2dLayer(name ?? "", PoolKind.Average, kernelSize, stride ?? kernelSize, padding));

    /// <summary>Global average pooling (C×H×W to a vector of C).</summary>
    public TSelf GlobalAvgPool(string? name = null) => Add(new GlobalAvgPoolLayer(name ?? ""));

    /// <summary>Batch normalisation.</summary>
    public TSelf BatchNorm(double epsilon = 1e-5, double momentum = 0.1, string? name = null) => Add(new BatchNormLayer(name ?? "", epsilon, momentum));

    /// <summary>Dropout.</summary>
    public TSelf Dropout(double rate, string? name = null) => Add(new DropoutLayer(name ?? "", rate));

    /// <summary>Flatten (C×H×W to a vector).</summary>
    public TSelf Flatten(string? name = null) => Add(new FlattenLayer(name ?? ""));

    /// <summary>A skip connection from an earlier top-level layer (or "input"), zero-initialised.</summary>
    public TSelf Skip(string from, string? name = null) => Add(new SkipLayer(name ?? "", from));

    /// <summary>A parallel block whose branches' outputs are summed.</summary>
    public TSelf Parallel(params Action<BranchBuilder>[] branches) => Parallel(null, branches);

    /// <summary>A named parallel block whose branches' outputs are summed.</summary>
    public TSelf Parallel(string? name, params Action<BranchBuilder>[] branches)
    {
        var built = branches.Select(configure =>
        {
            var branch = new BranchBuilder();
            configure(branch);
            return branch.Layers;
        });
        return Add(new ParallelLayer(name ?? "", [.. built]));
    }
}

/// <summary>Builds one branch of a parallel block.</summary>
public sealed class BranchBuilder : SequenceBuilder<BranchBuilder>
{
    internal ImmutableArray<Layer> Layers => BuiltLayers;
}

/// <summary>Builds a <see cref="NetworkDescription"/> for a given input shape.</summary>
public sealed class NetworkBuilder(TensorShape input) : SequenceBuilder<NetworkBuilder>
{
    /// <summary>The description; throws an <see cref="ArgumentException"/> naming the layer when shapes or names do not fit.</summary>
    public NetworkDescription Build() => new(input, DefaultNaming.Assign(BuiltLayers));
}
