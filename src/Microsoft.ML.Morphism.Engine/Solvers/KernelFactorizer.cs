// Splits one kernel G into F1 then F2 with F2 ⊛ F1 = G̃: NetMorph dense, NetMorph practical and IdMorph.
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Solvers;

/// <summary>How a factorisation found its two filters.</summary>
public enum FactorizationMethod
{
    /// <summary>NetMorph, dense exact: one filter random (semi-orthogonal), the other the minimum-norm exact solution.</summary>
    NetMorphDense,
    /// <summary>NetMorph, practical: a dense random matrix on F2's centre tap and F1 = M⁺G; exact at any width ≥ C_j, F2 sparse off-centre.</summary>
    NetMorphPractical,
    /// <summary>IdMorph: F2 the identity on its centre tap, F1 = G (plus random rows for extra width).</summary>
    IdMorph,
}

/// <summary>Which filter NetMorph dense drew at random (the other was solved for).</summary>
public enum FixedFilter
{
    /// <summary>Neither was solved (practical and IdMorph construct both).</summary>
    None,
    /// <summary>F1 was random, F2 solved (when only F1's side of the condition holds).</summary>
    First,
    /// <summary>F2 was random, F1 solved (preferred).</summary>
    Second,
}

/// <summary>
/// The result of factorising G <c>(C_j, C_i, K, K)</c>: <see cref="First"/> = F1 <c>(C_l, C_i, K, K)</c>
/// and <see cref="Second"/> = F2 <c>(C_j, C_l, K2, K2)</c>, both float64 on the CPU, with the quality
/// figures every depth morph reports. Owns the two tensors.
/// </summary>
public sealed class KernelFactorization : IDisposable
{
    internal KernelFactorization(Tensor first, Tensor second, FactorizationMethod method, FixedFilter fixedFilter, double residual, double density, TimeSpan elapsed)
    {
        (First, Second, Method, Fixed, Residual, Density, Elapsed) = (first, second, method, fixedFilter, residual, density, elapsed);
    }

    /// <summary>F1, the filter that runs first: <c>(C_l, C_i, K, K)</c>.</summary>
    public Tensor First { get; }

    /// <summary>F2, the filter that runs second: <c>(C_j, C_l, K2, K2)</c>.</summary>
    public Tensor Second { get; }

    /// <summary>The method used.</summary>
    public FactorizationMethod Method { get; }

    /// <summary>For <see cref="FactorizationMethod.NetMorphDense"/>, the filter drawn at random.</summary>
    public FixedFilter Fixed { get; }

    /// <summary>‖G̃ − F2 ⊛ F1‖ / ‖G̃‖, computed in double.</summary>
    public double Residual { get; }

    /// <summary>Fraction of non-zero values among F1's and F2's (see <see cref="KernelAlgebra.Density"/>).</summary>
    public double Density { get; }

    /// <summary>Wall time of the whole factorisation, residual and density included.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>Residuals at or below this count as exact: the fp64 preservation bound of network-morphism.md.</summary>
    public const double ExactTolerance = 1e-10;

    /// <summary>True when <see cref="Residual"/> ≤ <see cref="ExactTolerance"/>.</summary>
    public bool IsExact => Residual <= ExactTolerance;

    /// <summary>The width C_l of the inserted layer.</summary>
    public int Width => (int)First.shape[0];

    internal KernelFactorization WithElapsed(TimeSpan elapsed) => new(First, Second, Method, Fixed, Residual, Density, elapsed);

    /// <summary>Disposes both tensors.</summary>
    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
    }
}

/// <summary>
/// Factorises a kernel G <c>(C_j, C_i, K, K)</c> into F1 <c>(C_l, C_i, K, K)</c> followed by F2
/// <c>(C_j, C_l, K2, K2)</c> with <c>F2 ⊛ F1 = G̃</c>, G̃ being G zero-padded (centred) to
/// K̃ = K + K2 − 1 (see <see cref="KernelAlgebra"/> for ⊛). A dense weight matrix is the K = K2 = 1 case.
/// All arithmetic is float64; results are deterministic in the seed.
/// </summary>
public static class KernelFactorizer
{
    /// <summary>
    /// The counting condition of NetMorph dense: <c>max(C_l·C_i·K², C_j·C_l·K2²) ≥ C_j·C_i·K̃²</c>, i.e.
    /// one side has at least as many unknowns as G̃ has values. Necessary for an exact dense
    /// factorisation, and sufficient except for small channel counts (see <see cref="NetMorphDenseAutomaticWidth"/>).
    /// </summary>
    public static bool MeetsSolvabilityCondition(int outChannels, int inChannels, int kernelSize, int newKernelSize, int width) =>
        SecondCanBeFixed(outChannels, kernelSize, newKernelSize, width) || FirstCanBeFixed(inChannels, kernelSize, newKernelSize, width);

    /// <summary>The smallest width ≥ <paramref name="atLeast"/> for which <see cref="MeetsSolvabilityCondition"/> holds (a closed form).</summary>
    public static int SmallestWidthMeetingCondition(int outChannels, int inChannels, int kernelSize, int newKernelSize, int atLeast = 1)
    {
        CheckSizes(outChannels, inChannels, kernelSize, newKernelSize);
        var (bySecond, byFirst) = SolvabilityThresholds(outChannels, inChannels, kernelSize, newKernelSize);
        return checked((int)Math.Max(atLeast, Math.Min(bySecond, byFirst)));
    }

    /// <summary>The smallest widths at which F2 (by <c>C_l·K² ≥ C_j·K̃²</c>) and F1 (by <c>C_l·K2² ≥ C_i·K̃²</c>) can be the random side.</summary>
    private static (long BySecond, long ByFirst) SolvabilityThresholds(int outChannels, int inChannels, int kernelSize, int newKernelSize)
    {
        long composedArea = Square(kernelSize + newKernelSize - 1);
        return (CeilDiv(outChannels * composedArea, Square(kernelSize)), CeilDiv(inChannels * composedArea, Square(newKernelSize)));
    }

    /// <summary>How far above a solvability threshold <see cref="AutomaticWidth"/> goes (a fraction of the threshold).</summary>
    public const double ConditioningMargin = 0.10;

    /// <summary>
    /// The width Deepen chooses for NetMorph dense: the smallest that meets <see cref="MeetsSolvabilityCondition"/>,
    /// except that with a new kernel larger than 1×1 it stays at least <see cref="ConditioningMargin"/> clear above
    /// each side's threshold. At a threshold the solved system is nearly square and its minimum-norm solution
    /// cancels itself (large ‖F1‖‖F2‖/‖G‖, float32 logit errors above 1e-5; numbers in docs/benchmarks.md). A 1×1 new
    /// layer needs no margin: F2 is then an orthonormal matrix and F1 = F2ᵀG is perfectly conditioned.
    /// </summary>
    public static int AutomaticWidth(int outChannels, int inChannels, int kernelSize, int newKernelSize, int atLeast = 1)
    {
        int width = SmallestWidthMeetingCondition(outChannels, inChannels, kernelSize, newKernelSize, atLeast);
        if (newKernelSize == 1)
            return width;
        var (bySecond, byFirst) = SolvabilityThresholds(outChannels, inChannels, kernelSize, newKernelSize);
        foreach (var threshold in new[] { bySecond, byFirst }.Order())
        {
            long clear = (long)Math.Ceiling(threshold * (1 + ConditioningMargin));
            if (width >= threshold && width < clear)
                width = checked((int)clear);
        }
        return width;
    }

    /// <summary>
    /// NetMorph, dense exact. Draws one filter as a random semi-orthogonal matrix (F2 when
    /// <c>C_l·K² ≥ C_j·K̃²</c>, else F1 when <c>C_l·K2² ≥ C_i·K̃²</c>) and solves the other by minimum-norm
    /// least squares. When <paramref name="balanceNorms"/>, F1 is multiplied and F2 divided by the
    /// power of two that best equalises their norms: exact in floating point, and exact for the
    /// network because the activation between them is the identity when the layer is inserted.
    /// For wide layers with a 3×3 (or larger) random filter, that filter is drawn block-diagonal over
    /// channel groups of at least 16 outputs and then rotated by a random orthogonal matrix of the
    /// width: still dense with orthonormal rows, the other filter still the minimum-norm solution, but
    /// G independent systems instead of one G times larger (a 3×3 128 → 128 conv under a 3×3 new layer
    /// solves in a fraction of a second instead of seconds). Where a grouped system is not exact, the
    /// whole system is solved instead.
    /// </summary>
    /// <exception cref="ArgumentException">The width does not satisfy the exactness condition.</exception>
    public static KernelFactorization NetMorphDense(Tensor kernel, int newKernelSize, int width, int seed, bool balanceNorms = true)
    {
        var factorization = NetMorphDense(kernel, newKernelSize, width, seed, balanceNorms, allowGroups: true, out bool grouped);
        if (factorization.IsExact || !grouped)
            return factorization;
        // A grouped system can lack rank where the whole one does not: solve it whole, and count both attempts.
        var spent = factorization.Elapsed;
        factorization.Dispose();
        var whole = NetMorphDense(kernel, newKernelSize, width, seed, balanceNorms, allowGroups: false, out _);
        return whole.WithElapsed(spent + whole.Elapsed);
    }

    private static KernelFactorization NetMorphDense(Tensor kernel, int newKernelSize, int width, int seed, bool balanceNorms, bool allowGroups, out bool grouped)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (g, cj, ci, k) = Prepare(kernel, newKernelSize, width);
        int halo = (newKernelSize - 1) / 2;
        using var generator = new Generator((ulong)(uint)seed);

        Tensor first, second;
        FixedFilter fixedFilter;
        if (SecondCanBeFixed(cj, k, newKernelSize, width))
        {
            (second, first) = GroupedFilterSolver.Solve(KernelAlgebra.PadCentred(g, halo), width, newKernelSize, k, generator, allowGroups);
            grouped = allowGroups && GroupedFilterSolver.Plan(cj, width, newKernelSize, k).Outputs.Length > 1;
            fixedFilter = FixedFilter.Second;
        }
        else if (FirstCanBeFixed(ci, k, newKernelSize, width))
        {
            // The same equation transposed: G̃ᵀ = F1ᵀ ⊛ F2ᵀ, since the tap convolution commutes.
            var target = KernelAlgebra.PadCentred(g, halo).permute(1, 0, 2, 3);
            var (firstTransposed, secondTransposed) = GroupedFilterSolver.Solve(target, width, k, newKernelSize, generator, allowGroups);
            (first, second) = (firstTransposed.permute(1, 0, 2, 3), secondTransposed.permute(1, 0, 2, 3));
            grouped = allowGroups && GroupedFilterSolver.Plan(ci, width, k, newKernelSize).Outputs.Length > 1;
            fixedFilter = FixedFilter.First;
        }
        else
        {
            throw new ArgumentException(
                $"Width {width} is too small for an exact dense factorisation of a ({cj}, {ci}, {k}, {k}) kernel with a {newKernelSize}×{newKernelSize} new layer; " +
                $"it needs at least {SmallestWidthMeetingCondition(cj, ci, k, newKernelSize)}.", nameof(width));
        }
        if (balanceNorms)
            (first, second) = Balance(first, second);
        return Finish(g, first, second, FactorizationMethod.NetMorphDense, fixedFilter, clock);
    }

    /// <summary>
    /// NetMorph dense at Deepen's automatic width ≥ <paramref name="atLeast"/>: it starts from
    /// <see cref="AutomaticWidth"/> and widens while the factorisation is not exact. The count
    /// condition is necessary but not always sufficient: when a channel count is small next to the
    /// kernel sizes, the structured system has null vectors beyond the count and so less rank. E.g.
    /// with C_j = 1, F2 fixed and F1's kernel at least F2's, setting F1's channels a and b to F2's
    /// filters b and −a adds nothing to F2 ⊛ F1 (a Koszul syzygy), one per pair of channels; one or
    /// two more channels then suffice. <see cref="KernelFactorization.Elapsed"/> counts every attempt.
    /// </summary>
    public static KernelFactorization NetMorphDenseAutomaticWidth(Tensor kernel, int newKernelSize, int atLeast, int seed, bool balanceNorms = true)
    {
        KernelAlgebra.CheckKernel(kernel, nameof(kernel));
        int cj = (int)kernel.shape[0], ci = (int)kernel.shape[1], k = (int)kernel.shape[2];
        int width = AutomaticWidth(cj, ci, k, newKernelSize, atLeast);
        // At C_l = C_j·K2² the shifted copies of random F2 columns span every tap of G̃, so the
        // search always ends there at the latest.
        int last = Math.Max(width, checked(cj * newKernelSize * newKernelSize));
        var spent = TimeSpan.Zero;
        for (; ; width++)
        {
            var factorization = NetMorphDense(kernel, newKernelSize, width, seed, balanceNorms);
            spent += factorization.Elapsed;
            if (factorization.IsExact)
                return factorization.WithElapsed(spent);
            factorization.Dispose();
            if (width >= last)
                throw new InvalidOperationException($"No exact dense factorisation of a ({cj}, {ci}, {k}, {k}) kernel up to width {last}; the kernel solver is broken.");
        }
    }

    /// <summary>
    /// NetMorph, practical: for any width ≥ C_j. F2's centre tap is a random C_j×C_l matrix M with
    /// orthonormal rows (its other taps zero) and F1 = M⁺G = MᵀG, norms balanced by a power of two.
    /// </summary>
    /// <exception cref="ArgumentException">The width is below C_j.</exception>
    public static KernelFactorization NetMorphPractical(Tensor kernel, int newKernelSize, int width, int seed)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (g, cj, _, _) = Prepare(kernel, newKernelSize, width);
        RequireAtLeastOutChannels(cj, width);
        using var generator = new Generator((ulong)(uint)seed);
        var centre = RandomFilter(cj, width, 1, generator);
        var first = FilterSolver.SolveFirstGivenSecond(centre, g, (int)g.shape[2]);
        var (balancedFirst, balancedCentre) = Balance(first, centre);
        var second = OnCentreTap(balancedCentre, newKernelSize);
        return Finish(g, balancedFirst, second, FactorizationMethod.NetMorphPractical, FixedFilter.None, clock);
    }

    /// <summary>
    /// IdMorph: F2 is the identity on its centre tap (<c>[I 0]</c> when C_l &gt; C_j) and F1 = G, with
    /// extra rows drawn at G's root-mean-square scale for the extra width (they feed F2's zero columns).
    /// </summary>
    /// <exception cref="ArgumentException">The width is below C_j.</exception>
    public static KernelFactorization IdMorph(Tensor kernel, int newKernelSize, int width, int seed)
    {
        var clock = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        var (g, cj, ci, k) = Prepare(kernel, newKernelSize, width);
        RequireAtLeastOutChannels(cj, width);
        var first = g;
        if (width > cj)
        {
            using var generator = new Generator((ulong)(uint)seed);
            double rms = g.square().mean().sqrt().item<double>();
            double scale = rms > 0 ? rms : Math.Sqrt(1.0 / (ci * k * k));
            first = cat([g, randn([width - cj, ci, k, k], ScalarType.Float64, generator: generator) * scale], 0);
        }
        var second = OnCentreTap(eye(cj, width, ScalarType.Float64).reshape(cj, width, 1, 1), newKernelSize);
        return Finish(g, first, second, FactorizationMethod.IdMorph, FixedFilter.None, clock);
    }

    private static bool SecondCanBeFixed(long outChannels, int kernelSize, int newKernelSize, long width) =>
        width * Square(kernelSize) >= outChannels * Square(kernelSize + newKernelSize - 1);

    private static bool FirstCanBeFixed(long inChannels, int kernelSize, int newKernelSize, long width) =>
        width * Square(newKernelSize) >= inChannels * Square(kernelSize + newKernelSize - 1);

    /// <summary>A random (out, in, K, K) filter that is semi-orthogonal as an out × (in·K²) matrix.</summary>
    internal static Tensor RandomFilter(long outChannels, long inChannels, int kernelSize, Generator generator) =>
        KernelAlgebra.SemiOrthogonal(outChannels, inChannels * kernelSize * kernelSize, generator).reshape(outChannels, inChannels, kernelSize, kernelSize);

    /// <summary>A 1×1 filter placed on the centre tap of an otherwise zero K×K filter.</summary>
    private static Tensor OnCentreTap(Tensor pointwise, int kernelSize) =>
        KernelAlgebra.PadCentred(pointwise, (kernelSize - 1) / 2);

    /// <summary>(αF1, F2/α) with α a power of two near √(‖F2‖/‖F1‖), so the product is unchanged bit for bit.</summary>
    private static (Tensor First, Tensor Second) Balance(Tensor first, Tensor second)
    {
        double firstNorm = first.norm().item<double>(), secondNorm = second.norm().item<double>();
        if (!(firstNorm > 0 && secondNorm > 0))
            return (first, second);
        double alpha = Math.Pow(2, Math.Round(0.5 * Math.Log2(secondNorm / firstNorm)));
        return (first * alpha, second / alpha);
    }

    private static (Tensor G, int OutChannels, int InChannels, int KernelSize) Prepare(Tensor kernel, int newKernelSize, int width)
    {
        KernelAlgebra.CheckKernel(kernel, nameof(kernel));
        var g = KernelAlgebra.AsDouble(kernel).contiguous();
        int cj = (int)g.shape[0], ci = (int)g.shape[1], k = (int)g.shape[2];
        CheckSizes(cj, ci, k, newKernelSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        return (g, cj, ci, k);
    }

    private static void CheckSizes(int outChannels, int inChannels, int kernelSize, int newKernelSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        if (newKernelSize <= 0 || newKernelSize % 2 == 0)
            throw new ArgumentOutOfRangeException(nameof(newKernelSize), newKernelSize, "The new kernel size must be odd and positive, so that G can be centred in the composed kernel.");
    }

    private static void RequireAtLeastOutChannels(int outChannels, int width)
    {
        if (width < outChannels)
            throw new ArgumentException($"Width {width} is below the layer's {outChannels} output channels; this method needs at least {outChannels}.", nameof(width));
    }

    private static KernelFactorization Finish(Tensor g, Tensor first, Tensor second, FactorizationMethod method, FixedFilter fixedFilter, Stopwatch clock)
    {
        first = first.contiguous();
        second = second.contiguous();
        double residual = KernelAlgebra.Residual(g, first, second);
        double density = KernelAlgebra.Density(first, second);
        return new KernelFactorization(first.MoveToOuterDisposeScope(), second.MoveToOuterDisposeScope(), method, fixedFilter, residual, density, clock.Elapsed);
    }

    private static long Square(long n) => n * n;

    private static long CeilDiv(long numerator, long denominator) => (numerator + denominator - 1) / denominator;
}
