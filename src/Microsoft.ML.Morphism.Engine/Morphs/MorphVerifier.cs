// Measures how exactly a child network reproduces its parent: logit errors, prediction agreement, solver quality.
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// The verification of a morph (one step or a chain) on a batch of inputs, in eval mode. One
/// definition of the error everywhere, on the logits: <see cref="MaxAbsError"/> = max|C(x) − P(x)|
/// and <see cref="MaxRelError"/> = that divided by max|P(x)|. Predictions are compared under the
/// margin rule: the top-1 classes must agree on every input whose parent top-2 margin exceeds twice
/// <see cref="MaxAbsError"/>.
/// </summary>
public sealed record MorphReport
{
    /// <summary>The precision both networks ran in.</summary>
    public required Precision Precision { get; init; }
    /// <summary>Number of inputs compared.</summary>
    public required int Inputs { get; init; }
    /// <summary>max |C(x) − P(x)| over all logits.</summary>
    public required double MaxAbsError { get; init; }
    /// <summary><see cref="MaxAbsError"/> / max |P(x)|.</summary>
    public required double MaxRelError { get; init; }
    /// <summary>Inputs whose parent top-2 margin exceeds 2·<see cref="MaxAbsError"/>.</summary>
    public required int MarginInputs { get; init; }
    /// <summary>Of <see cref="MarginInputs"/>, those where parent and child predict the same class.</summary>
    public required int AgreeingInputs { get; init; }
    /// <summary>Largest solver residual over the steps (null when no step solved anything).</summary>
    public double? Residual { get; init; }
    /// <summary>Smallest solver density over the steps (null when no step solved anything).</summary>
    public double? Density { get; init; }
    /// <summary>Parameter count (all stored values) of the parent.</summary>
    public required long ParametersBefore { get; init; }
    /// <summary>Parameter count of the child.</summary>
    public required long ParametersAfter { get; init; }
    /// <summary>The device the check ran on.</summary>
    public required string Device { get; init; }
    /// <summary>True when TF32 convolutions or matmuls were enabled (CUDA only); errors are then ~1e-4, not fp32's.</summary>
    public required bool Tf32Enabled { get; init; }
    /// <summary>The steps verified, as applied.</summary>
    public ImmutableArray<MorphStep> Steps { get; init; } = [];

    /// <summary>True when the top-1 prediction agrees on every input the margin rule covers.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool PredictionsAgree => AgreeingInputs == MarginInputs;

    /// <summary>One line per figure.</summary>
    public override string ToString()
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Format(c, "steps: {0}", Steps.IsDefaultOrEmpty ? "(none)" : string.Join(" ", Steps)),
            string.Format(c, "max abs logit error: {0:0.000e+00} ({1}, {2} inputs, {3})", MaxAbsError, Precision, Inputs, Device),
            string.Format(c, "max rel logit error: {0:0.000e+00}", MaxRelError),
            string.Format(c, "prediction agreement: {0}/{1} inputs outside the error margin", AgreeingInputs, MarginInputs),
            string.Format(c, "parameters: {0:N0} -> {1:N0}", ParametersBefore, ParametersAfter),
        };
        if (Residual is { } r) lines.Add(string.Format(c, "solver residual: {0:0.000e+00}", r));
        if (Density is { } d) lines.Add(string.Format(c, "solver density: {0:P1}", d));
        if (Tf32Enabled) lines.Add("TF32 was enabled: errors include TF32 rounding");
        return string.Join(Environment.NewLine, lines);
    }
}

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
