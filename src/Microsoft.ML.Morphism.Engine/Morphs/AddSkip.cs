// The skip-connection morph: add a zero-initialised projection of an earlier blob to a later one.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// Inserts a <see cref="SkipLayer"/> (named <c>{to}_skip</c>) right after the top-level layer
/// <paramref name="To"/> that adds a 1×1 convolution (or, for vectors, a dense projection) of the
/// output of the earlier top-level layer <paramref name="From"/> (or of the network input,
/// <c>"input"</c>). The projection starts at zero, so the child is exactly the parent; training then
/// grows the residual path. Both blobs must be images of the same spatial size, or both vectors.
/// Plan text form: <c>skip(conv1, conv3)</c>.
/// </summary>
/// <remarks>
/// Capacity: a linear path around the layers in between, usable from the first step (the projection's gradient is
/// not zero). Optimizer state: the projection starts fresh, everything else keeps its state (the default
/// <see cref="MorphStep.CarryState"/>).
/// </remarks>
/// <param name="From">The source: a top-level layer before <paramref name="To"/>, or <c>"input"</c>.</param>
/// <param name="To">The top-level layer after whose output the projection is added.</param>
public sealed record AddSkipStep(string From, string To) : MorphStep, IStepText
{
    static MorphStep IStepText.Read(CallReader call)
    {
        call.Expect(2, ["the source layer", "the layer it is added after"]);
        return new AddSkipStep(call.Word(0), call.Word(1));
    }

    /// <inheritdoc/>
    public override string ToString() => Print(NewCall().Add(From).Add(To));

    /// <inheritdoc/>
    protected override MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context)
    {
        var topLevel = network.Layers.Select(l => l.Name).ToList();
        if (To is null || !network.Contains(To))
            throw Invalid($"no layer named '{To}'. Top-level layers a skip can end at: {string.Join(", ", topLevel)}.");
        var toLocation = network.Locate(To);
        if (!toLocation.IsTopLevel)
            throw Invalid($"'{To}' is inside parallel block '{toLocation.Parent!.Layer(network).Name}'; skips connect top-level layers: {string.Join(", ", topLevel)}.");
        var sources = topLevel.Take(toLocation.Index).Prepend(SkipLayer.NetworkInput).ToList();
        if (From != SkipLayer.NetworkInput)
        {
            if (From is null || !network.Contains(From))
                throw Invalid($"no layer named '{From}'. Sources before '{To}': {string.Join(", ", sources)}.");
            var fromLocation = network.Locate(From);
            if (!fromLocation.IsTopLevel)
                throw Invalid($"'{From}' is inside parallel block '{fromLocation.Parent!.Layer(network).Name}'; a skip reads a top-level blob. Sources before '{To}': {string.Join(", ", sources)}.");
            if (fromLocation.Index >= toLocation.Index)
                throw Invalid($"'{From}' is not earlier than '{To}'; a skip reads a blob computed before it. Sources before '{To}': {string.Join(", ", sources)}.");
        }

        var source = From == SkipLayer.NetworkInput ? network.Input : network.Shapes[From].Output;
        var target = network.Shapes[To].Output;
        if (source.IsImage != target.IsImage)
            throw Invalid($"'{From}' gives {Describe(source)} but '{To}' gives {Describe(target)}; a skip needs two image blobs or two vectors.");
        if (source.IsImage && (source.Height != target.Height || source.Width != target.Width))
            throw Invalid($"'{From}' gives {source} but '{To}' gives {target}; a 1×1 projection keeps the spatial size, so both must be {target.Height}×{target.Width}.");

        var skip = new SkipLayer(network.UniqueName($"{To}_skip"), From!) { Morphed = true };
        var child = network.InsertAfter(toLocation, skip);
        // Zero projection: the skip adds nothing until training moves it.
        var projection = child.ParameterSpecs.Where(p => p.Layer == skip.Name)
            .Select(p => KeyValuePair.Create(p.Key, WeightTensor.Zeros(p.Shape)));
        return new MorphOutcome(child, weights.With(projection), this);
    }

    private static string Describe(TensorShape shape) => shape.IsImage ? $"an image blob {shape}" : $"a vector of {shape}";
}

public sealed partial class MorphPlan
{
    /// <summary>Appends <c>skip(from, to)</c>: a zero-initialised skip connection from <paramref name="from"/> (or "input") to after <paramref name="to"/> (see <see cref="AddSkipStep"/>).</summary>
    public MorphPlan AddSkip(string from, string to) => Add(new AddSkipStep(from, to));
}
