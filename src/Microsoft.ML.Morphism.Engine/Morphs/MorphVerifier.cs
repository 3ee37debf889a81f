// Measures how exactly a child network reproduces its parent: logit errors, prediction agreement, solver quality.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>Runs parent and child on the same inputs and reports how exactly the child preserves the parent.</summary>
public static class MorphVerifier
{
    /// <summary>
    /// Compares parent and child logits in eval mode on <paramref name="inputs"/> (a batch shaped
    /// [N, ...input]) or, when null, on <paramref name="randomInputs"/> standard-normal inputs drawn
    /// from <paramref name="seed"/>. Both networks run in <paramref name="precision"/>.
    /// </summary>
    public static MorphReport Verify(
        NetworkDescription parent, NetworkWeights parentWeights,
        NetworkDescription child, NetworkWeights childWeights,
        WeightTensor? inputs = null, int randomInputs = 64, int seed = 0,
        Precision precision = Precision.Float32, Device? device = null,
        IEnumerable<MorphOutcome>? outcomes = null)
    {
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(child);
        if (!parent.Input.Equals(child.Input) || !parent.Output.Equals(child.Output))
            throw new ArgumentException($"Parent ({parent.Input} -> {parent.Output}) and child ({child.Input} -> {child.Output}) do not have the same input and output shapes.");
        device ??= CPU;
        var dtype = precision == Precision.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var steps = outcomes?.ToImmutableArray() ?? [];

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)seed, device);
        using var parentModule = new NetworkModule(parent, parentWeights.ToPrecision(precision), device);
        using var childModule = new NetworkModule(child, childWeights.ToPrecision(precision), device);
        parentModule.eval();
        childModule.eval();

        var x = inputs is not null
            ? inputs.ToTorch(dtype, device)
            : randn(parent.Input.WithBatch(randomInputs), dtype, device, generator: generator);
        var p = parentModule.forward(x);
        var c = childModule.forward(x);

        double maxAbs = (c - p).abs().max().to(ScalarType.Float64).item<double>();
        double scale = p.abs().max().to(ScalarType.Float64).item<double>();
        var (margin, agree) = Agreement(p, c, maxAbs);
        return new MorphReport
        {
            Precision = precision,
            Inputs = (int)x.shape[0],
            MaxAbsError = maxAbs,
            MaxRelError = scale > 0 ? maxAbs / scale : maxAbs,
            MarginInputs = margin,
            AgreeingInputs = agree,
            Residual = steps.Select(s => s.Solver?.Residual).Max(),
            Density = steps.Select(s => s.Solver?.Density).Min(),
            ParametersBefore = parent.ParameterCount,
            ParametersAfter = child.ParameterCount,
            Device = device.ToString(),
            Tf32Enabled = device.type == DeviceType.CUDA && (backends.cuda.matmul.allow_tf32 || backends.cudnn.allow_tf32),
            Steps = [.. steps.Select(s => s.Step)],
        };
    }

    /// <summary>Verifies the outcome of a plan against its parent.</summary>
    public static MorphReport Verify(NetworkDescription parent, NetworkWeights parentWeights, MorphChainOutcome chain,
        WeightTensor? inputs = null, int randomInputs = 64, int seed = 0, Precision precision = Precision.Float32, Device? device = null) =>
        Verify(parent, parentWeights, chain.Network, chain.Weights, inputs, randomInputs, seed, precision, device, chain.Steps);

    /// <summary>Verifies one step's outcome against its parent.</summary>
    public static MorphReport Verify(NetworkDescription parent, NetworkWeights parentWeights, MorphOutcome outcome,
        WeightTensor? inputs = null, int randomInputs = 64, int seed = 0, Precision precision = Precision.Float32, Device? device = null) =>
        Verify(parent, parentWeights, outcome.Network, outcome.Weights, inputs, randomInputs, seed, precision, device, [outcome]);

    private static (int Margin, int Agree) Agreement(Tensor parent, Tensor child, double maxAbs)
    {
        var parentLogits = parent.reshape(parent.shape[0], -1);
        if (parentLogits.shape[1] < 2)
            return (0, 0);
        var top2 = parentLogits.topk(2, dim: 1).values;
        var eligible = (top2[.., 0] - top2[.., 1]).gt(2 * maxAbs);
        var same = parentLogits.argmax(1).eq(child.reshape(child.shape[0], -1).argmax(1));
        return ((int)eligible.sum().item<long>(), (int)(eligible & same).sum().item<long>());
    }
}
