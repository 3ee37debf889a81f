// NetMorph dense at realistic sizes: the random filter drawn block-diagonal over channel groups, each group solved alone, then mixed by a random rotation.
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Solvers;

/// <summary>
/// The dense NetMorph solve <c>T = W ⊛ U</c> (W random and fixed, U the minimum-norm solution), made
/// cheap for wide layers. The system for U has P·Kt² rows and C_l·Ku² columns (3,200 × 3,204 for a
/// 3×3 128 → 128 conv under a 3×3 new layer), so one QR costs O(n³). Drawing W block-diagonal over G
/// channel groups (group g's outputs read only group g's width) splits it into G independent systems
/// of 1/G the size: G² times less work. A random rotation M of the width then makes both filters dense
/// again: W·M ⊛ MᵀU = W ⊛ U because M Mᵀ = I, and MᵀU is still the minimum-norm solution for W·M
/// (an orthogonal change of variables keeps norms). W·M keeps orthonormal rows, like the ungrouped W.
/// Groups are used only where every group meets the count condition on its own within the given width
/// and has at least <see cref="MinimumGroupChannels"/> outputs; callers check exactness and may ask
/// for a single group (the plain solve) when a grouped one is not exact.
/// </summary>
internal static class GroupedFilterSolver
{
    /// <summary>
    /// The fewest outputs per group. Small channel counts next to the kernel sizes give structured
    /// systems extra null vectors (see <see cref="KernelFactorizer.NetMorphDenseAutomaticWidth"/>); groups
    /// this large stay clear of that, and splitting further would save little.
    /// </summary>
    public const int MinimumGroupChannels = 16;

    /// <summary>
    /// The split of <paramref name="outputs"/> and <paramref name="width"/> into groups that each meet
    /// <c>width_g·Ku² ≥ outputs_g·Kt²</c>: as many groups as fit (spare width spread over them), or one
    /// group when the fixed filter is 1×1 (that system is already a plain P × C_l matrix) or nothing fits.
    /// </summary>
    public static (int[] Outputs, int[] Widths) Plan(int outputs, int width, int fixedKernel, int solvedKernel)
    {
        long composedArea = (long)(fixedKernel + solvedKernel - 1) * (fixedKernel + solvedKernel - 1);
        long solvedArea = (long)solvedKernel * solvedKernel;
        for (int groups = fixedKernel == 1 ? 1 : outputs / MinimumGroupChannels; groups > 1; groups--)
        {
            var groupOutputs = Enumerable.Range(0, groups).Select(g => outputs / groups + (g < outputs % groups ? 1 : 0)).ToArray();
            var groupWidths = groupOutputs.Select(p => (int)((p * composedArea + solvedArea - 1) / solvedArea)).ToArray();
            long spare = width - groupWidths.Sum(w => (long)w);
            if (spare < 0)
                continue;
            for (int g = 0; spare > 0; g = (g + 1) % groups, spare--)
                groupWidths[g]++;
            return (groupOutputs, groupWidths);
        }
        return ([outputs], [width]);
    }

    /// <summary>
    /// Draws W <c>(P, width, Kw, Kw)</c> at random (semi-orthogonal rows, block-diagonal over the groups of
    /// <see cref="Plan"/> before mixing) and solves <c>T = W ⊛ U</c> for U <c>(width, Q, Ku, Ku)</c> by
    /// minimum-norm least squares, T being <c>(P, Q, Kw + Ku − 1, Kw + Ku − 1)</c>. With one group this
    /// is exactly the plain solve (the same random numbers, the same W and U).
    /// </summary>
    public static (Tensor Fixed, Tensor Solved) Solve(Tensor target, int width, int fixedKernel, int solvedKernel, Generator generator, bool allowGroups)
    {
        using var scope = NewDisposeScope();
        int outputs = (int)target.shape[0];
        var (groupOutputs, groupWidths) = allowGroups ? Plan(outputs, width, fixedKernel, solvedKernel) : ([outputs], [width]);
        if (groupOutputs.Length == 1)
        {
            var w = KernelFactorizer.RandomFilter(outputs, width, fixedKernel, generator);
            var u = FilterSolver.SolveFirstGivenSecond(w, target, solvedKernel);
            return (w.MoveToOuterDisposeScope(), u.MoveToOuterDisposeScope());
        }

        var blockDiagonal = zeros([outputs, width, fixedKernel, fixedKernel], ScalarType.Float64);
        var solvedGroups = new List<Tensor>();
        for (int g = 0, row = 0, column = 0; g < groupOutputs.Length; row += groupOutputs[g], column += groupWidths[g], g++)
        {
            var block = KernelFactorizer.RandomFilter(groupOutputs[g], groupWidths[g], fixedKernel, generator);
            blockDiagonal.narrow(0, row, groupOutputs[g]).narrow(1, column, groupWidths[g]).copy_(block);
            solvedGroups.Add(FilterSolver.SolveFirstGivenSecond(block, target.narrow(0, row, groupOutputs[g]), solvedKernel));
        }
        var solved = cat(solvedGroups, 0);

        var rotation = KernelAlgebra.SemiOrthogonal(width, width, generator);
        var mixedFixed = blockDiagonal.permute(0, 2, 3, 1).matmul(rotation).permute(0, 3, 1, 2).contiguous();
        var mixedSolved = rotation.t().matmul(solved.reshape(width, -1)).reshape(solved.shape);
        return (mixedFixed.MoveToOuterDisposeScope(), mixedSolved.MoveToOuterDisposeScope());
    }
}
