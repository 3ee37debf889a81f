// What a layer stores in the network weights: a parameter's key, shape and role.
namespace Microsoft.ML.Morphism.Networks;

/// <summary>What a parameter is, which decides its initial value.</summary>
public enum ParameterRole
{
    /// <summary>Convolution or dense weights.</summary>
    Weight,
    /// <summary>Convolution or dense bias.</summary>
    Bias,
    /// <summary>BatchNorm γ.</summary>
    NormScale,
    /// <summary>BatchNorm β.</summary>
    NormShift,
    /// <summary>BatchNorm running mean (a buffer, not trained by gradient).</summary>
    RunningMean,
    /// <summary>BatchNorm running variance (a buffer, not trained by gradient).</summary>
    RunningVariance,
    /// <summary>The <c>a</c> of a P-activation.</summary>
    ActivationLinearity,
    /// <summary>A skip connection's projection weights.</summary>
    SkipProjection,
}

/// <summary>One parameter of a layer: its key in <see cref="NetworkWeights"/>, shape and role.</summary>
public sealed record ParameterSpec(string Layer, string Parameter, long[] Shape, ParameterRole Role)
{
    /// <summary>The weights key: <c>"{Layer}.{Parameter}"</c>.</summary>
    public string Key => $"{Layer}.{Parameter}";

    /// <summary>Number of values.</summary>
    public long Count => Shape.Aggregate(1L, (a, d) => checked(a * d));

    /// <summary>True for buffers that gradient descent does not update (BatchNorm running statistics).</summary>
    public bool IsBuffer => Role is ParameterRole.RunningMean or ParameterRole.RunningVariance;
}
