// Specifies how a MorphReport prints: one figure per line, errors in the usual scientific notation.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class MorphReportTests
{
    [Fact]
    public void PrintsEachFigureOnItsOwnLineInScientificNotationWithATwoDigitExponent()
    {
        var report = new MorphReport
        {
            Precision = Precision.Float32,
            Inputs = 256,
            MaxAbsError = 4.7683716e-6,
            MaxRelError = 2.01e-7,
            MarginInputs = 250,
            AgreeingInputs = 250,
            Residual = 1.5e-16,
            Density = 0.987,
            ParametersBefore = 106_058,
            ParametersAfter = 164_971,
            Device = "cpu",
            Tf32Enabled = false,
            Steps = [new WidenStep("conv1", 24)],
        };

        Assert.Equal(
        [
            "steps: widen(conv1, 24)",
            "max abs logit error: 4.768e-06 (Float32, 256 inputs, cpu)",
            "max rel logit error: 2.010e-07",
            "prediction agreement: 250/250 inputs outside the error margin",
            "parameters: 106,058 -> 164,971",
            "solver residual: 1.500e-16",
            "solver density: 98.7 %",
        ], report.ToString().Split(Environment.NewLine));
    }
}
