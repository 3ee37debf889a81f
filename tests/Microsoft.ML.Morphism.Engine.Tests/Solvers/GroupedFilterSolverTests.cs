// Specification of the grouped NetMorph solve: which layers it splits, and that the split changes the cost, not the result's properties.
using Microsoft.ML.Morphism.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Solvers;

public class GroupedFilterSolverTests
{
    private static Tensor RandomKernel(int outChannels, int inChannels, int kernelSize, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return randn([outChannels, inChannels, kernelSize, kernelSize], ScalarType.Float64, generator: generator) / Math.Sqrt(inChannels * kernelSize * kernelSize);
    }

    [Theory]
    [InlineData(128, 356, 3, 3)] // the 3×3 128 → 128 under a 3×3 new layer, at the smallest exact width
    [InlineData(256, 712, 3, 3)]
    [InlineData(64, 178, 3, 3)]
    [InlineData(36, 100, 3, 3)]
    [InlineData(100, 545, 5, 3)]
    public void PlanSplitsIntoGroupsThatEachMeetTheCountWithinTheWidth(int outputs, int width, int fixedKernel, int solvedKernel)
    {
        var (groupOutputs, groupWidths) = GroupedFilterSolver.Plan(outputs, width, fixedKernel, solvedKernel);

        int composed = fixedKernel + solvedKernel - 1;
        Assert.True(groupOutputs.Length > 1, "a layer this wide should be split");
        Assert.Equal(groupOutputs.Length, groupWidths.Length);
        Assert.Equal(outputs, groupOutputs.Sum());
        Assert.Equal(width, groupWidths.Sum());
        for (int g = 0; g < groupOutputs.Length; g++)
        {
            Assert.True(groupOutputs[g] >= GroupedFilterSolver.MinimumGroupChannels, $"group {g} has {groupOutputs[g]} outputs");
            Assert.True((long)groupWidths[g] * solvedKernel * solvedKernel >= (long)groupOutputs[g] * composed * composed,
                $"group {g}: width {groupWidths[g]} cannot be exact for {groupOutputs[g]} outputs");
        }
    }

    [Theory]
    [InlineData(128, 128, 1, 3)] // a 1×1 random filter: the system is already a plain P × C_l matrix
    [InlineData(31, 90, 3, 3)]   // not two groups of 16 outputs
    [InlineData(32, 89, 3, 3)]   // two groups of 16 would need 2 × 45 > 89 channels
    public void PlanKeepsOneGroupWhereGroupingCannotHelpOrDoesNotFit(int outputs, int width, int fixedKernel, int solvedKernel)
    {
        var (groupOutputs, groupWidths) = GroupedFilterSolver.Plan(outputs, width, fixedKernel, solvedKernel);

        Assert.Equal([outputs], groupOutputs);
        Assert.Equal([width], groupWidths);
    }

    [Theory]
    [InlineData(36, 8, FixedFilter.Second)] // F2 random (grouped over the 36 outputs), F1 solved
    [InlineData(40, 36, FixedFilter.First)] // F1 random (grouped over the 36 inputs of the transposed system), F2 solved
    public void GroupedSolveIsExactDenseAndTheMinimumNormSolutionForItsRandomFilter(int outChannels, int inChannels, FixedFilter expectedFixed)
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(outChannels, inChannels, 3, seed: 5);
        int groupedSide = expectedFixed == FixedFilter.Second ? outChannels : inChannels;
        Assert.True(GroupedFilterSolver.Plan(groupedSide, 100, 3, 3).Outputs.Length > 1, "the case must exercise the grouped solve");

        using var f = KernelFactorizer.NetMorphDense(g, 3, width: 100, seed: 7);

        Assert.Equal(expectedFixed, f.Fixed);
        Assert.InRange(f.Residual, 0, 1e-12);
        Assert.True(f.Density >= 0.95, $"density {f.Density:P1}");
        // The random side keeps orthonormal rows (up to the power-of-two balance): rotation undid the block structure's zeros, not its orthogonality.
        var random = expectedFixed == FixedFilter.Second ? f.Second : f.First.permute(1, 0, 2, 3);
        var rows = random.reshape(random.shape[0], -1);
        var gram = rows.matmul(rows.t());
        double scale = gram.diagonal().mean().item<double>();
        Assert.True((gram / scale).allclose(eye(rows.shape[0], dtype: ScalarType.Float64), rtol: 0, atol: 1e-12));
        // The solved side equals the minimum-norm solution of the whole (ungrouped) system for that random side.
        var target = KernelAlgebra.PadCentred(g, 1);
        var (solved, independent) = expectedFixed == FixedFilter.Second
            ? (f.First, FilterSolver.SolveFirstGivenSecond(f.Second, target, 3))
            : (f.Second, FilterSolver.SolveFirstGivenSecond(f.First.permute(1, 0, 2, 3), target.permute(1, 0, 2, 3), 3).permute(1, 0, 2, 3));
        double difference = (solved - independent).abs().max().item<double>() / solved.abs().max().item<double>();
        Assert.InRange(difference, 0, 1e-10);
    }

    [Fact]
    public void GroupedSolveIsDeterministicInTheSeed()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(36, 8, 3, seed: 1);

        using var a = KernelFactorizer.NetMorphDense(g, 3, 100, seed: 42);
        using var b = KernelFactorizer.NetMorphDense(g, 3, 100, seed: 42);
        using var c = KernelFactorizer.NetMorphDense(g, 3, 100, seed: 43);

        Assert.True(a.First.eq(b.First).all().item<bool>() && a.Second.eq(b.Second).all().item<bool>());
        Assert.False(a.Second.eq(c.Second).all().item<bool>());
    }
}
