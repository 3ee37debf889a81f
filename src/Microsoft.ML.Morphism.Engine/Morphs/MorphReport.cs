// The verification result of a morph: logit errors, prediction agreement, solver quality; public and persisted with models.
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.ML.Morphism.Networks;

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
