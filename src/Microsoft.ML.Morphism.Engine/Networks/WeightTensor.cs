// One immutable parameter array (shape plus values), independent of TorchSharp's native memory.
using System.Collections.Immutable;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// An immutable dense array of parameter values in row-major order. Values are held as doubles so
/// that float32 and float64 networks share one representation (a float32 network's values are all
/// exactly representable as float; <see cref="NetworkWeights"/> keeps that invariant).
/// </summary>
public sealed class WeightTensor
{
    private readonly double[] _values;

    /// <summary>Copies <paramref name="values"/> into a new tensor of the given shape.</summary>
    public WeightTensor(IEnumerable<long> shape, ReadOnlySpan<double> values)
        : this([.. shape], values.ToArray())
    {
    }

    private WeightTensor(long[] shape, double[] values)
    {
        if (shape.Any(d => d < 0))
            throw new ArgumentException($"Negative dimension in shape [{string.Join(", ", shape)}].");
        long count = shape.Aggregate(1L, (a, d) => checked(a * d));
        if (count != values.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {count} values but {values.Length} were given.");
        Shape = [.. shape];
        _values = values;
    }

    /// <summary>The dimensions.</summary>
    public ImmutableArray<long> Shape { get; }

    /// <summary>The values, row-major.</summary>
    public ReadOnlySpan<double> Values => _values;

    /// <summary>Number of values.</summary>
    public int Count => _values.Length;

    /// <summary>A tensor of zeros.</summary>
    public static WeightTensor Zeros(params long[] shape) => Wrap(shape, new double[shape.Aggregate(1L, (a, d) => checked(a * d))]);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static WeightTensor Filled(double value, params long[] shape)
    {
        var values = new double[shape.Aggregate(1L, (a, d) => checked(a * d))];
        Array.Fill(values, value);
        return Wrap(shape, values);
    }

    /// <summary>Copies a TorchSharp tensor (any floating dtype, any device).</summary>
    public static WeightTensor FromTorch(Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var host = tensor.detach().to(ScalarType.Float64, CPU).contiguous();
        return Wrap(host.shape, host.data<double>().ToArray());
    }

    /// <summary>A new TorchSharp tensor with these values.</summary>
    public Tensor ToTorch(ScalarType dtype = ScalarType.Float64, Device? device = null)
    {
        using var scope = NewDisposeScope();
        var result = torch.tensor(_values, [.. Shape], ScalarType.Float64).to(dtype, device ?? CPU);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>True when every value is finite.</summary>
    public bool IsFinite() => _values.All(double.IsFinite);

    /// <summary>The same values rounded to float32 precision (this instance when nothing changes).</summary>
    internal WeightTensor RoundedToFloat32()
    {
        double[]? rounded = null;
        for (int i = 0; i < _values.Length; i++)
        {
            double r = (float)_values[i];
            if (r.Equals(_values[i]))
                continue;
            rounded ??= (double[])_values.Clone();
            rounded[i] = r;
        }
        return rounded is null ? this : Wrap([.. Shape], rounded);
    }

    /// <summary>Wraps arrays without copying; callers hand over ownership.</summary>
    internal static WeightTensor Wrap(long[] shape, double[] values) => new(shape, values);

    /// <summary>A copy of the values (for building new tensors from this one).</summary>
    internal double[] ToArray() => (double[])_values.Clone();

    /// <summary>"[32, 16, 3, 3]".</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}
