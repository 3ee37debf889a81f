// BenchmarkDotNet micro-benchmarks of the morph functions: where repeated, statistically summarised timings fit.
using BenchmarkDotNet.Attributes;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Solvers;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Micro;

/// <summary>
/// Morph functions on a 3×3 conv with 64 → 64 channels in input(64,16,16) g:conv(64,3) r:relu h:conv(64,3) relu gap dense(10)
/// (float32 random weights), each call on the same parent (a morph never modifies it).
/// </summary>
[MemoryDiagnoser]
public class MorphFunctionBenchmarks
{
    private const int Channels = 64;
    private NetworkDescription _network = null!;
    private NetworkWeights _weights = null!;
    private Tensor _kernel = null!;

    [GlobalSetup]
    public void Setup()
    {
        _network = NetworkDescription.Parse($"input({Channels},16,16) g:conv({Channels},3) r:relu h:conv({Channels},3) relu gap dense(10)");
        _weights = RandomWeights.For(_network, seed: 1, Precision.Float32);
        _kernel = _weights["g.weight"].ToTorch().DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup() => _kernel.Dispose();

    [Benchmark(Description = "NetMorphDense 3×3 64→64, 1×1 new (width 64)")]
    public double NetMorphDenseOneByOne()
    {
        using var f = KernelFactorizer.NetMorphDense(_kernel, 1, Channels, seed: 1);
        return f.Residual;
    }

    [Benchmark(Description = "NetMorphDense 3×3 64→64, 3×3 new (width 178)")]
    public double NetMorphDenseThreeByThree()
    {
        using var f = KernelFactorizer.NetMorphDense(_kernel, 3, 178, seed: 1);
        return f.Residual;
    }

    [Benchmark(Description = "KernelAlgebra.Compose 64→178→64, 3×3 ∘ 3×3")]
    public long Compose()
    {
        using var scope = NewDisposeScope();
        using var first = randn([178, Channels, 3, 3], ScalarType.Float64);
        using var second = randn([Channels, 178, 3, 3], ScalarType.Float64);
        return KernelAlgebra.Compose(first, second).numel();
    }

    [Benchmark(Description = "DeepenStep.Apply (auto width, 3×3 new)")]
    public object Deepen() => new DeepenStep("g", 3).Apply(_network, _weights, new MorphContext(1));

    [Benchmark(Description = "WidenStep.Apply (64 → 128)")]
    public object Widen() => new WidenStep("g", 2 * Channels).Apply(_network, _weights, new MorphContext(1));

    [Benchmark(Description = "EnlargeKernelStep.Apply (3 → 5)")]
    public object EnlargeKernel() => new EnlargeKernelStep("g", 5).Apply(_network, _weights, new MorphContext(1));

    [Benchmark(Description = "AddBranchStep.Apply (1×1)")]
    public object AddBranch() => new AddBranchStep("g", 1).Apply(_network, _weights, new MorphContext(1));

    [Benchmark(Description = "AddSkipStep.Apply (input → r)")]
    public object AddSkip() => new AddSkipStep("input", "r").Apply(_network, _weights, new MorphContext(1));
}
