// Compares one float32 convolution (forward, input gradient, weight gradient) with the same convolution in float64.
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Platform;

/// <summary>The worst relative errors of <see cref="ConvolutionCheck.Run"/>'s repetitions (NaN when a result was not finite).</summary>
public readonly record struct ConvolutionErrors(double Forward, double InputGradient, double WeightGradient)
{
    /// <summary>Relative error bound of the forward pass (float32 rounding over the largest sums stays near 1e-6).</summary>
    public const double ForwardBound = 1e-5;

    /// <summary>Relative error bound of either gradient (correct gradients reach about 9e-6 over large sums; the faults are ≥ 0.3).</summary>
    public const double GradientBound = 1e-4;

    /// <summary>True when every error is finite and within its bound.</summary>
    public bool Pass => Forward <= ForwardBound && InputGradient <= GradientBound && WeightGradient <= GradientBound;

    /// <summary>The larger of two results, NaN-sticky.</summary>
    public static ConvolutionErrors Worst(ConvolutionErrors a, ConvolutionErrors b) =>
        new(Max(a.Forward, b.Forward), Max(a.InputGradient, b.InputGradient), Max(a.WeightGradient, b.WeightGradient));

    /// <inheritdoc/>
    public override string ToString() => $"forward {Forward:G3}, dX {InputGradient:G3}, dW {WeightGradient:G3}";

    private static double Max(double a, double b) => double.IsNaN(a) || double.IsNaN(b) ? double.NaN : Math.Max(a, b);
}

/// <summary>
/// One self-check of a convolution on the CPU: random float32 input, weight, bias and output
/// gradient (from a fixed seed, never TorchSharp's global generator); a float64 reference from the
/// same float32 values; then the float32 computation repeated, each time compared with the reference.
/// Relative error = max |float32 − float64| / max |float64| per tensor. Stops at the first failing
/// repetition.
/// </summary>
public static class ConvolutionCheck
{
    /// <summary>
    /// A test hook: when set, it may replace a repetition's measured errors, as a faulty CPU would
    /// produce them (arguments: the shape, the padding in use or null for the plain conv, the measured errors).
    /// </summary>
    internal static Func<ConvolutionShape, ChannelPadding?, ConvolutionErrors, ConvolutionErrors>? InjectFault { get; set; }

    /// <summary>Runs <paramref name="repetitions"/> float32 repetitions of <paramref name="shape"/> (through <paramref name="padding"/> when given).</summary>
    public static ConvolutionErrors Run(ConvolutionShape shape, ChannelPadding? padding, int repetitions, int seed = 17)
    {
        ArgumentNullException.ThrowIfNull(shape);
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        using var generator = new Generator((ulong)seed);
        var x = randn([shape.Batch, shape.InChannels, shape.Height, shape.Width], ScalarType.Float32, generator: generator);
        var w = randn([shape.OutChannels, shape.InPerGroup, shape.KernelSize, shape.KernelSize], ScalarType.Float32, generator: generator)
            .div_(Math.Sqrt(shape.InPerGroup * shape.KernelSize * shape.KernelSize));
        var b = randn([shape.OutChannels], ScalarType.Float32, generator: generator);
        int height = ConvArithmetic.OutputSize(shape.Height, shape.KernelSize, shape.Stride, shape.Padding, shape.Dilation);
        int width = ConvArithmetic.OutputSize(shape.Width, shape.KernelSize, shape.Stride, shape.Padding, shape.Dilation);
        var upstream = randn([shape.Batch, shape.OutChannels, height, width], ScalarType.Float32, generator: generator);
        var reference = Compute(shape, null, x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64), upstream.to(ScalarType.Float64));

        var worst = new ConvolutionErrors(0, 0, 0);
        for (int r = 0; r < repetitions; r++)
        {
            using var repetition = NewDisposeScope();
            var result = Compute(shape, padding, x, w, b, upstream);
            var errors = new ConvolutionErrors(
                Relative(result.Output, reference.Output), Relative(result.InputGradient, reference.InputGradient), Relative(result.WeightGradient, reference.WeightGradient));
            if (InjectFault is { } inject)
                errors = inject(shape, padding, errors);
            worst = ConvolutionErrors.Worst(worst, errors);
            if (!errors.Pass)
                break;
        }
        return worst;
    }

    private static (Tensor Output, Tensor InputGradient, Tensor WeightGradient) Compute(ConvolutionShape shape, ChannelPadding? padding,
        Tensor x, Tensor w, Tensor b, Tensor upstream)
    {
        var input = x.detach().requires_grad_(true);
        var weight = w.detach().requires_grad_(true);
        var output = padding is { } p
            ? p.Conv2d(input, weight, b, shape.Stride, shape.Padding, shape.Dilation, shape.Groups)
            : nn.functional.conv2d(input, weight, b, [shape.Stride], [shape.Padding], [shape.Dilation], shape.Groups);
        var gradients = autograd.grad([output], [input, weight], [upstream]);
        return (output.detach(), gradients[0], gradients[1]);
    }

    private static double Relative(Tensor value, Tensor reference)
    {
        double scale = reference.abs().max().item<double>();
        double error = value.to(ScalarType.Float64).sub(reference).abs().max().item<double>();
        if (double.IsNaN(error) || !value.isfinite().all().item<bool>())
            return double.NaN;
        return scale > 0 ? error / scale : error;
    }
}
