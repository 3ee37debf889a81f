// The kernel arithmetic of the depth morph: composing two filters, centred padding, residual, density, random semi-orthogonal filters.
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Solvers;

/// <summary>
/// Operations on convolution kernels shaped <c>(out, in, K, K)</c>, in the conventions of the depth
/// morph: <c>F2 ⊛ F1</c> is the single kernel equivalent to running the cross-correlation F1 and then
/// F2, i.e. <c>(F2 ⊛ F1)(j, i)[t] = Σ_l Σ_{q+r=t} F2(j, l)[q] · F1(l, i)[r]</c>, of size K1 + K2 − 1.
/// Dense weight matrices are the K = 1 case. Every method works on CPU float64 copies and returns new
/// tensors the caller owns.
/// </summary>
public static class KernelAlgebra
{
    /// <summary>Values whose magnitude is at most this fraction of their tensor's largest are numerical zeros for <see cref="Density"/>.</summary>
    public const double ZeroTolerance = 1e-12;

    /// <summary>The kernel of F1 followed by F2: <c>(C_j, C_i, K1 + K2 − 1, K1 + K2 − 1)</c>.</summary>
    public static Tensor Compose(Tensor first, Tensor second)
    {
        CheckKernel(first, nameof(first));
        CheckKernel(second, nameof(second));
        if (first.shape[0] != second.shape[1])
            throw new ArgumentException($"F1 has {first.shape[0]} output channels but F2 reads {second.shape[1]}.");
        using var scope = NewDisposeScope();
        var (f1, f2) = (AsDouble(first), AsDouble(second));
        long width = f1.shape[0], inChannels = f1.shape[1], outChannels = f2.shape[0];
        int k1 = (int)f1.shape[2], k2 = (int)f2.shape[2], k = k1 + k2 - 1;
        // Every pair of taps (q of F2, r of F1) adds F2[:, :, q]·F1[:, :, r] to tap q + r. One matrix
        // product gives all pairs at once, (K2²·C_j × C_l)·(C_l × C_i·K1²); each q's block then lands at
        // offset q. (A float64 conv2d computes the same sum several times slower: no fast double kernel.)
        var left = f2.permute(2, 3, 0, 1).reshape(k2 * k2 * outChannels, width);
        var products = left.matmul(f1.reshape(width, inChannels * k1 * k1)).reshape(k2, k2, outChannels, inChannels, k1, k1);
        var composed = zeros([outChannels, inChannels, k, k], ScalarType.Float64);
        for (int qy = 0; qy < k2; qy++)
            for (int qx = 0; qx < k2; qx++)
                composed.narrow(2, qy, k1).narrow(3, qx, k1).add_(products[qy, qx]);
        return composed.MoveToOuterDisposeScope();
    }

    /// <summary>The kernel zero-padded on every side by <paramref name="padding"/> taps (centred), as G̃ in the morphism equation.</summary>
    public static Tensor PadCentred(Tensor kernel, int padding)
    {
        CheckKernel(kernel, nameof(kernel));
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        using var scope = NewDisposeScope();
        return nn.functional.pad(AsDouble(kernel), [padding, padding, padding, padding]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ‖G̃ − F2 ⊛ F1‖ / ‖G̃‖ in double, where G̃ is <paramref name="kernel"/> padded (centred) to the
    /// composed size; the absolute norm when G is zero.
    /// </summary>
    public static double Residual(Tensor kernel, Tensor first, Tensor second)
    {
        using var scope = NewDisposeScope();
        var composed = Compose(first, second);
        int padding = (int)(composed.shape[2] - kernel.shape[2]);
        if (padding < 0 || padding % 2 != 0)
            throw new ArgumentException($"A {kernel.shape[2]}×{kernel.shape[2]} kernel cannot be centred in the composed {composed.shape[2]}×{composed.shape[2]} kernel.");
        var target = PadCentred(kernel, padding / 2);
        if (!target.shape.SequenceEqual(composed.shape))
            throw new ArgumentException($"The composed kernel is [{string.Join(", ", composed.shape)}] but G̃ is [{string.Join(", ", target.shape)}].");
        double error = (target - composed).norm().item<double>();
        double scale = target.norm().item<double>();
        return scale > 0 ? error / scale : error;
    }

    /// <summary>
    /// The fraction of non-zero values among all values of the given tensors. A value counts as zero
    /// when its magnitude is at most <see cref="ZeroTolerance"/> times the largest in its tensor, so
    /// that least-squares noise (1e-17) where the exact solution is zero does not pass for density.
    /// </summary>
    public static double Density(params Tensor[] tensors)
    {
        using var scope = NewDisposeScope();
        long nonZero = 0, total = 0;
        foreach (var tensor in tensors)
        {
            var magnitude = AsDouble(tensor).abs();
            total += magnitude.numel();
            if (magnitude.numel() == 0)
                continue;
            double threshold = ZeroTolerance * magnitude.max().item<double>();
            nonZero += magnitude.gt(threshold).sum().item<long>();
        }
        return total == 0 ? 0 : (double)nonZero / total;
    }

    /// <summary>
    /// A random <paramref name="rows"/>×<paramref name="columns"/> float64 matrix with orthonormal rows
    /// (when rows ≤ columns) or orthonormal columns (otherwise), Haar-distributed and deterministic in
    /// <paramref name="generator"/>'s state.
    /// </summary>
    public static Tensor SemiOrthogonal(long rows, long columns, Generator generator)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        using var scope = NewDisposeScope();
        bool wide = rows <= columns;
        var gaussian = randn(wide ? new[] { columns, rows } : new[] { rows, columns }, ScalarType.Float64, generator: generator);
        var (q, r) = linalg.qr(gaussian);
        // QR's sign convention is LAPACK's choice; fixing the signs of R's diagonal makes Q Haar-distributed.
        var signs = r.diagonal().sign();
        signs = where(signs.eq(0), ones_like(signs), signs);
        q = q * signs.unsqueeze(0);
        return (wide ? q.t() : q).contiguous().MoveToOuterDisposeScope();
    }

    internal static void CheckKernel(Tensor kernel, string name)
    {
        ArgumentNullException.ThrowIfNull(kernel, name);
        if (kernel.dim() != 4 || kernel.shape[2] != kernel.shape[3])
            throw new ArgumentException($"A kernel must be shaped (out, in, K, K); got [{string.Join(", ", kernel.shape)}].", name);
    }

    /// <summary>A float64 CPU view or copy (a new handle the current scope owns).</summary>
    internal static Tensor AsDouble(Tensor tensor) => tensor.detach().to(ScalarType.Float64, CPU);
}
