// Solves the morphism equation for one filter when the other is fixed: per-column decoupled, minimum norm, in double.
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Solvers;

/// <summary>
/// The linear half of NetMorph. With the second filter W fixed, <c>T = W ⊛ U</c> is linear in U and
/// decouples over U's input channels: every column <c>U(:, q)</c> meets the same matrix A (built from
/// W) with its own right-hand side <c>T(:, q)</c>. So one factorisation of A serves all columns, and
/// the system is <c>P·Kt²</c> × <c>C_l·Ku²</c> rather than Q times larger.
/// </summary>
internal static class FilterSolver
{
    /// <summary>
    /// The minimum-norm U <c>(C_l, Q, Ku, Ku)</c> with <c>T = W ⊛ U</c> in the least-squares sense, for
    /// W <c>(P, C_l, Kw, Kw)</c> and T <c>(P, Q, Kt, Kt)</c>, Kt = Kw + Ku − 1. Exact when A has full
    /// row rank, which needs <c>C_l·Ku² ≥ P·Kt²</c>.
    /// </summary>
    public static Tensor SolveFirstGivenSecond(Tensor second, Tensor target, int firstKernel)
    {
        using var scope = NewDisposeScope();
        long p = second.shape[0], width = second.shape[1], q = target.shape[1];
        int kw = (int)second.shape[2], kt = (int)target.shape[2], ku = firstKernel;
        if (target.shape[0] != p || kt != kw + ku - 1)
            throw new ArgumentException($"T [{string.Join(", ", target.shape)}] does not fit W [{string.Join(", ", second.shape)}] and a {ku}×{ku} U.");

        if (kw == 1)
        {
            // A 1×1 W acts on every tap alike: A = W ⊗ I, so the taps decouple too and the system
            // is just W (P × C_l) with Q·Kt² right-hand sides.
            var columns = MinimumNorm(second.reshape(p, width), target.reshape(p, q * kt * kt));
            return columns.reshape(width, q, ku, ku).MoveToOuterDisposeScope();
        }

        var solution = MinimumNorm(CorrelationMatrix(second, ku), target.permute(0, 2, 3, 1).reshape(p * kt * kt, q));
        return solution.reshape(width, ku, ku, q).permute(0, 3, 1, 2).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A with <c>A[(p, t), (l, b)] = W(p, l)[t − b]</c> (zero outside the kernel): rows index the
    /// composed kernel's output channel and tap, columns the unknown's channel and tap.
    /// </summary>
    internal static Tensor CorrelationMatrix(Tensor second, int firstKernel)
    {
        using var scope = NewDisposeScope();
        long p = second.shape[0], width = second.shape[1];
        int kw = (int)second.shape[2], ku = firstKernel, kt = kw + ku - 1;
        var a = zeros([p, kt, kt, width, ku, ku], ScalarType.Float64);
        var taps = second.permute(0, 2, 3, 1);
        for (int by = 0; by < ku; by++)
            for (int bx = 0; bx < ku; bx++)
                a.index_put_(taps,
                    TensorIndex.Colon, TensorIndex.Slice(by, by + kw), TensorIndex.Slice(bx, bx + kw),
                    TensorIndex.Colon, TensorIndex.Single(by), TensorIndex.Single(bx));
        return a.reshape(p * kt * kt, width * ku * ku).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The minimum-norm least-squares X of A X = B for A m×n with m ≤ n. With Aᵀ = QR (Householder),
    /// A = Rᵀ Qᵀ and X = Q [R⁻ᵀ B; 0] lies in A's row space, hence is the minimum-norm solution: one QR of
    /// an n×m matrix, one triangular solve and the reflectors applied to the result, no SVD and no normal
    /// equations (which would square the condition number). Q stays in LAPACK's packed form (geqrf, then
    /// ormqr applies it): forming it explicitly costs as much again as the factorisation and made this
    /// the slowest step of a large Deepen. A numerically rank-deficient A falls back to LAPACK's
    /// complete-orthogonal-factorisation least squares, which still returns the minimum-norm solution.
    /// </summary>
    internal static Tensor MinimumNorm(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        long m = a.shape[0], n = a.shape[1];
        if (m > n)
            throw new ArgumentException($"The system has {m} equations but only {n} unknowns; the condition for an exact solution does not hold.");
        var (reflectors, tau) = geqrf(a.t());
        var r = reflectors.narrow(0, 0, m).triu();
        var diagonal = r.diagonal().abs();
        double largest = diagonal.max().item<double>();
        double smallest = diagonal.min().item<double>();
        if (!(smallest > largest * n * 1e-14))
            return PseudoInverseSolve(a, b).MoveToOuterDisposeScope();
        var y = linalg.solve_triangular(r.t(), b, upper: false);
        var padded = cat([y, zeros([n - m, y.shape[1]], y.dtype)], 0);
        return ormqr(reflectors, tau, padded, left: true, transpose: false).MoveToOuterDisposeScope();
    }

    private static Tensor PseudoInverseSolve(Tensor a, Tensor b)
    {
        var (solution, _, _, _) = linalg.lstsq(a, b);
        return solution;
    }
}
