// Specification of the kernel factorisation solvers: exactness, minimum norm, density, widths, determinism.
using Microsoft.ML.Morphism.Solvers;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Solvers;

public class KernelFactorizerTests
{
    private static Tensor RandomKernel(int outChannels, int inChannels, int kernelSize, int seed)
    {
        using var generator = new Generator((ulong)seed);
        return randn([outChannels, inChannels, kernelSize, kernelSize], ScalarType.Float64, generator: generator) / Math.Sqrt(inChannels * kernelSize * kernelSize);
    }

    /// <summary>G̃(j, i)[t] = Σ_l Σ_{q+r=t} F2(j, l)[q]·F1(l, i)[r], by the definition, with loops.</summary>
    private static double[,,,] ComposeByDefinition(Tensor first, Tensor second)
    {
        int cl = (int)first.shape[0], ci = (int)first.shape[1], k1 = (int)first.shape[2];
        int cj = (int)second.shape[0], k2 = (int)second.shape[2], kt = k1 + k2 - 1;
        var f1 = first.contiguous().data<double>().ToArray();
        var f2 = second.contiguous().data<double>().ToArray();
        var result = new double[cj, ci, kt, kt];
        for (int j = 0; j < cj; j++)
            for (int i = 0; i < ci; i++)
                for (int l = 0; l < cl; l++)
                    for (int qy = 0; qy < k2; qy++)
                        for (int qx = 0; qx < k2; qx++)
                            for (int ry = 0; ry < k1; ry++)
                                for (int rx = 0; rx < k1; rx++)
                                    result[j, i, qy + ry, qx + rx] +=
                                        f2[((j * cl + l) * k2 + qy) * k2 + qx] * f1[((l * ci + i) * k1 + ry) * k1 + rx];
        return result;
    }

    private static double RelativeResidualByDefinition(Tensor g, KernelFactorization f)
    {
        var composed = ComposeByDefinition(f.First, f.Second);
        int cj = (int)g.shape[0], ci = (int)g.shape[1], k = (int)g.shape[2], kt = composed.GetLength(2), halo = (kt - k) / 2;
        var values = g.contiguous().data<double>().ToArray();
        double error = 0, norm = 0;
        for (int j = 0; j < cj; j++)
            for (int i = 0; i < ci; i++)
                for (int y = 0; y < kt; y++)
                    for (int x = 0; x < kt; x++)
                    {
                        bool inside = y >= halo && y < halo + k && x >= halo && x < halo + k;
                        double target = inside ? values[((j * ci + i) * k + y - halo) * k + x - halo] : 0;
                        error += Math.Pow(target - composed[j, i, y, x], 2);
                        norm += target * target;
                    }
        return Math.Sqrt(error / norm);
    }

    [Theory]
    [InlineData(5, 7, 1, 1)]   // a dense layer
    [InlineData(7, 5, 1, 1)]
    [InlineData(8, 8, 3, 1)]
    [InlineData(6, 4, 5, 1)]
    [InlineData(4, 6, 3, 3)]
    [InlineData(3, 2, 5, 3)]
    [InlineData(2, 3, 3, 5)]   // only F1's side of the condition holds at the smallest width
    [InlineData(8, 3, 1, 3)]
    [InlineData(1, 1, 3, 3)]   // rank-deficient at the counted width
    [InlineData(16, 12, 3, 3)]
    public void NetMorphDenseReproducesTheKernelToRoundingError(int outChannels, int inChannels, int kernelSize, int newKernelSize)
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(outChannels, inChannels, kernelSize, seed: outChannels * 100 + inChannels);

        using var f = KernelFactorizer.NetMorphDenseAutomaticWidth(g, newKernelSize, outChannels, seed: 3);

        Assert.Equal(FactorizationMethod.NetMorphDense, f.Method);
        Assert.InRange(f.Residual, 0, 1e-13);
        Assert.InRange(RelativeResidualByDefinition(g, f), 0, 1e-13);
        Assert.Equal([f.Width, inChannels, kernelSize, kernelSize], f.First.shape);
        Assert.Equal([outChannels, f.Width, newKernelSize, newKernelSize], f.Second.shape);
    }

    [Fact]
    public void ComposeMatchesTheDefiningSum()
    {
        using var scope = NewDisposeScope();
        var first = RandomKernel(4, 3, 3, seed: 1);
        var second = RandomKernel(2, 4, 5, seed: 2);

        var composed = KernelAlgebra.Compose(first, second);
        var expected = ComposeByDefinition(first, second);

        Assert.Equal([2, 3, 7, 7], composed.shape);
        var values = composed.data<double>().ToArray();
        Assert.Equal(expected.Cast<double>(), values, (a, b) => Math.Abs(a - b) < 1e-14);
    }

    [Theory]
    [InlineData(2, 3, 3, 3, FixedFilter.Second)]
    [InlineData(2, 3, 3, 5, FixedFilter.First)]
    [InlineData(4, 3, 1, 1, FixedFilter.Second)]
    [InlineData(4, 2, 1, 3, FixedFilter.First)]
    public void SolvedFilterIsTheMinimumNormSolutionOfTheWholeCoupledSystem(int outChannels, int inChannels, int kernelSize, int newKernelSize, FixedFilter expectedFixed)
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(outChannels, inChannels, kernelSize, seed: 11);
        using var f = KernelFactorizer.NetMorphDenseAutomaticWidth(g, newKernelSize, outChannels, seed: 5);
        Assert.Equal(expectedFixed, f.Fixed);

        // The coupled system over every value of the solved filter at once, built from the definition,
        // and its pseudo-inverse solution: the decoupled per-column solves must give the same filter.
        var solved = f.Fixed == FixedFilter.Second ? f.First : f.Second;
        var (matrix, target) = CoupledSystem(g, f);
        var minimumNorm = linalg.pinv(matrix).matmul(target);

        var difference = (minimumNorm - solved.reshape(-1)).abs().max().item<double>();
        Assert.InRange(difference / solved.abs().max().item<double>(), 0, 1e-10);
    }

    /// <summary>The matrix M and vector b with M·vec(solved filter) = vec(G̃), column by column through the definition.</summary>
    private static (Tensor Matrix, Tensor Target) CoupledSystem(Tensor g, KernelFactorization f)
    {
        var solved = f.Fixed == FixedFilter.Second ? f.First : f.Second;
        long unknowns = solved.numel();
        var columns = new List<Tensor>();
        for (long u = 0; u < unknowns; u++)
        {
            var unit = zeros(unknowns, ScalarType.Float64);
            unit[u] = 1.0;
            var probe = unit.reshape(solved.shape);
            var composed = ComposeByDefinition(f.Fixed == FixedFilter.Second ? probe : f.First, f.Fixed == FixedFilter.Second ? f.Second : probe);
            columns.Add(tensor(composed.Cast<double>().ToArray(), ScalarType.Float64));
        }
        int halo = (int)(f.Second.shape[2] - 1) / 2;
        var target = KernelAlgebra.PadCentred(g, halo).reshape(-1);
        return (stack(columns, 1), target);
    }

    [Fact]
    public void PracticalIsExactAtOutChannelsWhereTheConditionFails()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(6, 5, 3, seed: 4);
        Assert.False(KernelFactorizer.MeetsSolvabilityCondition(6, 5, 3, 3, width: 6));

        using var practical = KernelFactorizer.NetMorphPractical(g, 3, width: 6, seed: 1);
        using var identity = KernelFactorizer.IdMorph(g, 3, width: 6, seed: 1);

        Assert.InRange(practical.Residual, 0, 1e-13);
        Assert.InRange(RelativeResidualByDefinition(g, practical), 0, 1e-13);
        var offCentre = practical.Second.clone();
        offCentre[.., .., 1, 1] = 0;
        Assert.Equal(0.0, offCentre.abs().max().item<double>());
        Assert.True(practical.Density > identity.Density, $"practical {practical.Density:P1} vs IdMorph {identity.Density:P1}");
    }

    [Fact]
    public void IdMorphIsTheIdentityOnTheCentreTapAndKeepsTheKernel()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(3, 4, 3, seed: 8);

        using var f = KernelFactorizer.IdMorph(g, 3, width: 5, seed: 2);

        Assert.Equal(0.0, f.Residual);
        Assert.True(f.First[..3].eq(g).all().item<bool>(), "F1 must start with G itself");
        Assert.True(f.First[3..].abs().gt(0).all().item<bool>(), "the extra rows of F1 must be random, not zero");
        var expected = zeros([3, 5, 3, 3], ScalarType.Float64);
        expected[.., .., 1, 1] = eye(3, 5, ScalarType.Float64);
        Assert.True(f.Second.eq(expected).all().item<bool>());
    }

    [Theory]
    [InlineData(16, 16, 3, 1, 16)]   // 3×3 + 1×1: C_l = C_j
    [InlineData(16, 16, 3, 3, 45)]   // 3×3 + 3×3: C_l = ⌈25/9·C_j⌉
    [InlineData(9, 9, 3, 3, 25)]
    [InlineData(10, 3, 1, 1, 10)]    // dense: at least C_j when asked for at least C_j
    [InlineData(8, 3, 1, 3, 8)]      // F1's side: C_l ≥ C_i, then at least C_j
    public void SmallestWidthMeetingConditionFollowsTheCount(int outChannels, int inChannels, int kernelSize, int newKernelSize, int expected)
    {
        int width = KernelFactorizer.SmallestWidthMeetingCondition(outChannels, inChannels, kernelSize, newKernelSize, atLeast: outChannels);

        Assert.Equal(expected, width);
        Assert.True(KernelFactorizer.MeetsSolvabilityCondition(outChannels, inChannels, kernelSize, newKernelSize, width));
        Assert.True(width == outChannels || !KernelFactorizer.MeetsSolvabilityCondition(outChannels, inChannels, kernelSize, newKernelSize, width - 1));
    }

    [Fact]
    public void DenseLayerBottleneckAtTheSmallerDimensionIsExact()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(8, 3, 1, seed: 9);

        Assert.Equal(3, KernelFactorizer.SmallestWidthMeetingCondition(8, 3, 1, 1));
        using var f = KernelFactorizer.NetMorphDense(g, 1, width: 3, seed: 1);

        Assert.Equal(FixedFilter.First, f.Fixed);
        Assert.InRange(f.Residual, 0, 1e-13);
    }

    [Theory]
    [InlineData(64, 32, 3, 3)]  // the preservation report's worst float32 row: 89 channels, a nearly square solved system
    [InlineData(32, 32, 3, 3)]
    [InlineData(48, 24, 3, 3)]
    [InlineData(32, 16, 5, 3)]
    [InlineData(16, 32, 3, 5)]
    public void AutomaticWidthKeepsTheSolvedFilterWellConditioned(int outChannels, int inChannels, int kernelSize, int newKernelSize)
    {
        // Float32 rounding through the inserted layer grows with how much larger F1 and F2 are than G; at the
        // smallest exact width the minimum-norm solution cancels itself (factor 70-760, rel errors above 1e-5).
        using var scope = NewDisposeScope();
        var g = RandomKernel(outChannels, inChannels, kernelSize, seed: 1);

        using var f = KernelFactorizer.NetMorphDenseAutomaticWidth(g, newKernelSize, outChannels, seed: 2);

        double amplification = f.First.norm().item<double>() * f.Second.norm().item<double>() / g.norm().item<double>();
        Assert.True(amplification <= 50, $"‖F1‖‖F2‖/‖G‖ = {amplification:F1} at width {f.Width}");
        Assert.True(f.IsExact);
    }

    [Fact]
    public void AutomaticWidthIsExactWhereTheCountedWidthIsRankDeficient()
    {
        // Width 3 meets the count but is rank deficient (a Koszul syzygy). The conditioning margin alone now moves
        // the automatic width to 4; the exactness search behind it no longer has to widen in any case we know of
        // (none among cj ≤ 8, ci ≤ 9, kernels ≤ 5, new kernels ≤ 7, atLeast ≤ 40), but stays as the safety net.
        using var scope = NewDisposeScope();
        var g = RandomKernel(1, 3, 3, seed: 6);
        int counted = KernelFactorizer.SmallestWidthMeetingCondition(1, 3, 3, 3, atLeast: 1);

        using var atCount = KernelFactorizer.NetMorphDense(g, 3, counted, seed: 1);
        using var searched = KernelFactorizer.NetMorphDenseAutomaticWidth(g, 3, atLeast: 1, seed: 1);

        Assert.Equal(3, counted);
        Assert.False(atCount.IsExact, $"residual {atCount.Residual:E2} at the counted width");
        Assert.Equal(4, searched.Width);
        Assert.True(searched.IsExact);
    }

    [Theory]
    [InlineData(8, 8, 3, 1)]
    [InlineData(5, 7, 1, 1)]
    [InlineData(6, 4, 3, 3)]
    [InlineData(4, 6, 5, 3)]
    [InlineData(3, 2, 3, 5)]
    public void NetMorphDenseFiltersAreDense(int outChannels, int inChannels, int kernelSize, int newKernelSize)
    {
        using var scope = NewDisposeScope();
        using var f = KernelFactorizer.NetMorphDenseAutomaticWidth(RandomKernel(outChannels, inChannels, kernelSize, 2), newKernelSize, outChannels, seed: 4);

        Assert.True(f.Density >= 0.95, $"density {f.Density:P1}");
    }

    [Fact]
    public void OneByOneKernelUnderALargerNewKernelLeavesTheNewKernelsOffCentreTapsZero()
    {
        // With a 1×1 F1 every tap of F2 ⊛ F1 is F2[t]·F1, and G̃ is zero off the centre; with F1 of full
        // column rank the minimum-norm F2 is therefore zero off the centre: exact but not dense.
        using var scope = NewDisposeScope();
        var g = RandomKernel(6, 6, 1, seed: 3);

        using var f = KernelFactorizer.NetMorphDenseAutomaticWidth(g, 3, 6, seed: 1);

        Assert.True(f.IsExact);
        var offCentre = f.Second.clone();
        offCentre[.., .., 1, 1] = 0;
        Assert.InRange(offCentre.abs().max().item<double>(), 0, 1e-12 * f.Second.abs().max().item<double>());
        Assert.Equal((36.0 + 36.0) / (36.0 + 36.0 * 9), f.Density, 12);
    }

    [Fact]
    public void FactorizationIsDeterministicInTheSeed()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(4, 3, 3, seed: 1);

        using var a = KernelFactorizer.NetMorphDense(g, 3, 12, seed: 42);
        using var b = KernelFactorizer.NetMorphDense(g, 3, 12, seed: 42);
        using var c = KernelFactorizer.NetMorphDense(g, 3, 12, seed: 43);

        Assert.True(a.First.eq(b.First).all().item<bool>() && a.Second.eq(b.Second).all().item<bool>());
        Assert.False(a.Second.eq(c.Second).all().item<bool>());
    }

    [Fact]
    public void BalancedFiltersHaveNormsWithinAFactorOfTwo()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(12, 12, 3, seed: 1) * 40; // far from the unit-norm random side

        using var f = KernelFactorizer.NetMorphDense(g, 1, 12, seed: 1);

        double ratio = f.First.norm().item<double>() / f.Second.norm().item<double>();
        Assert.InRange(ratio, 0.5, 2.0);
    }

    [Fact]
    public void SemiOrthogonalHasOrthonormalRowsWhenWideAndColumnsWhenTall()
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(1);

        var wide = KernelAlgebra.SemiOrthogonal(3, 7, generator);
        var tall = KernelAlgebra.SemiOrthogonal(7, 3, generator);

        Assert.True(wide.matmul(wide.t()).allclose(eye(3, dtype: ScalarType.Float64), rtol: 0, atol: 1e-14));
        Assert.True(tall.t().matmul(tall).allclose(eye(3, dtype: ScalarType.Float64), rtol: 0, atol: 1e-14));
    }

    [Fact]
    public void WidthsBelowTheConditionAreRejectedByNetMorphDense()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(6, 5, 3, seed: 4);

        var error = Assert.Throws<ArgumentException>(() => KernelFactorizer.NetMorphDense(g, 3, width: 6, seed: 1));
        Assert.Contains("at least 14", error.Message);
    }

    [Fact]
    public void EvenNewKernelSizesAreRejected()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(2, 2, 3, seed: 1);

        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFactorizer.NetMorphDense(g, 2, width: 8, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => KernelFactorizer.IdMorph(g, 4, width: 2, seed: 1));
    }

    [Fact]
    public void MethodsBelowOutChannelsAreRejectedByPracticalAndIdMorph()
    {
        using var scope = NewDisposeScope();
        var g = RandomKernel(6, 5, 3, seed: 4);

        Assert.Throws<ArgumentException>(() => KernelFactorizer.NetMorphPractical(g, 3, width: 5, seed: 1));
        Assert.Throws<ArgumentException>(() => KernelFactorizer.IdMorph(g, 3, width: 5, seed: 1));
    }
}
