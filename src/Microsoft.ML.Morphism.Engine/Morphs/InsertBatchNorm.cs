// The BatchNorm morph: insert a BatchNorm that is the identity, with statistics measured on sample data.
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Inserts a <see cref="BatchNormLayer"/> (named <c>{after}_bn</c>) right after layer
/// <paramref name="After"/>, anywhere in the network (inside parallel branches too). With a sample
/// of inputs in the <see cref="MorphContext"/>, the parent runs in eval mode (float64) up to that layer
/// and the per-channel (per-feature) mean μ and biased variance σ² over the batch and spatial positions
/// set running mean = μ, running var = σ², γ = √(σ² + ε), β = μ: exactly the identity in eval mode,
/// and close to it in training mode on batches like the sample, so refitting starts without a jump.
/// Without a sample: mean 0, var 1, γ = √(1 + ε), β = 0, which is exact in eval mode only.
/// Plan text form: <c>bn(conv2)</c>.
/// </summary>
/// <remarks>
/// Capacity: none in eval mode (a per-channel affine map the next layer could absorb); it changes the training
/// dynamics. Optimizer state: γ and β start fresh, everything else keeps its state (the default
/// <see cref="MorphStep.CarryState"/>).
/// </remarks>
/// <param name="After">The layer whose output the new BatchNorm normalises.</param>
public sealed record InsertBatchNormStep(string After) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(1, ["the layer to normalise after"]);
        return new InsertBatchNormStep(call.Word(0));
    }

    /// <inheritdoc/>
    public override string ToString() => Print(NewCall().Add(After));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        if (After is null || !network.Contains(After))
            throw Invalid($"no layer named '{After}'. Layers: {string.Join(", ", network.AllLayers().Select(l => l.Name))}.");
        var location = network.Locate(After);
        var bn = new BatchNormLayer(network.UniqueName($"{After}_bn")) { Morphed = true };
        var child = network.InsertAfter(location, bn);

        var (mean, variance) = context.Sample is { } sample
            ? Statistics(network, weights, sample)
            : (new double[network.Shapes[After].Output.Channels], Ones(network.Shapes[After].Output.Channels));
        if (weights.Precision == Precision.Float32)
        {
            // γ must match the variance the network will actually hold, so round before deriving it.
            mean = [.. mean.Select(m => (double)(float)m)];
            variance = [.. variance.Select(v => (double)(float)v)];
        }
        var scale = variance.Select(v => Math.Sqrt(v + bn.Epsilon)).ToArray();
        long[] shape = [mean.Length];
        return new MorphOutcome(child, weights.With(
        [
            KeyValuePair.Create($"{bn.Name}.weight", new WeightTensor(shape, scale)),
            KeyValuePair.Create($"{bn.Name}.bias", new WeightTensor(shape, mean)),
            KeyValuePair.Create($"{bn.Name}.running_mean", new WeightTensor(shape, mean)),
            KeyValuePair.Create($"{bn.Name}.running_var", new WeightTensor(shape, variance)),
        ]), this);
    }

    /// <summary>Per-channel mean and biased variance of the parent's blob after <see cref="After"/> on the sample (eval mode, float64).</summary>
    private (double[] Mean, double[] Variance) Statistics(NetworkDescription network, NetworkWeights weights, WeightTensor sample)
    {
        var expected = network.Input.WithBatch(sample.Shape.IsEmpty ? 0 : sample.Shape[0]);
        if (!sample.Shape.SequenceEqual(expected) || expected[0] < 1)
            throw Invalid($"the sample has shape {sample.ShapeText} but network inputs are shaped [N, {string.Join(", ", network.Input.Dimensions)}] with N ≥ 1.");
        if (!sample.IsFinite())
            throw Invalid("the sample contains NaN or infinite values.");

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var parent = new NetworkModule(network, weights.ToPrecision(Precision.Float64));
        parent.eval();
        var blob = parent.Blob(sample.ToTorch(ScalarType.Float64), After);
        long[] reduce = blob.dim() == 4 ? [0, 2, 3] : [0];
        var mean = blob.mean(reduce, keepdim: true);
        var variance = (blob - mean).square().mean(reduce);
        return (WeightTensor.FromTorch(mean.flatten()).ToArray(), WeightTensor.FromTorch(variance).ToArray());
    }

    private static double[] Ones(int count)
    {
        var values = new double[count];
        Array.Fill(values, 1.0);
        return values;
    }
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>bn(after)</c>: an identity BatchNorm after layer <paramref name="after"/>, statistics from the context's sample when there is one (see <see cref="InsertBatchNormStep"/>).</summary>
    public MorphPlan InsertBatchNorm(string after) => Add(new InsertBatchNormStep(after));
}
