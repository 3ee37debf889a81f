// The parallel block layer kind (branches on the same input, outputs summed): description, text form, width-morph rule and module.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// A block of parallel branches applied to the same input, outputs summed (an Inception-like
/// subnet). Every branch is a non-empty sequence and all branches produce the same shape.
/// </summary>
public sealed record ParallelLayer(string Name, ImmutableArray<ImmutableArray<Layer>> Branches) : Layer(Name), ILayerText
{
    /// <inheritdoc/>
    public override string DefaultNamePrefix => "parallel";

    internal override TensorShape InferShape(TensorShape input, ShapeScope scope)
    {
        TensorShape? output = null;
        for (int b = 0; b < Branches.Length; b++)
        {
            var shape = input;
            foreach (var layer in Branches[b])
            {
                if (layer is SkipLayer)
                    throw Invalid("skip connections inside parallel branches are not supported.");
                shape = scope.Infer(layer, shape);
            }
            if (output is { } first && first != shape)
                throw Invalid($"branch {b + 1} produces {shape} but branch 1 produces {first}; branch outputs are summed and must match.");
            output = shape;
        }
        return output!.Value;
    }

    internal override void Validate()
    {
        if (Branches.IsDefaultOrEmpty || Branches.Length < 2)
            throw Invalid("a parallel block needs at least two branches.");
        if (Branches.Any(b => b.IsDefaultOrEmpty))
            throw Invalid("parallel branches must not be empty.");
    }

    static IReadOnlyList<string> ILayerText.Keywords => ["parallel"];

    static Layer ILayerText.Read(LayerCall call) => new ParallelLayer(call.Name, call.Layers());

    internal override TextCall ToText(LayerWriter writer) =>
        Branches.Aggregate(new TextCall("parallel"), (call, branch) => call.Add(writer.Sequence(branch), afterBar: true));

    // Every branch follows the new channels; they must end alike, since the branch outputs are summed.
    internal override Widening? WidenInput(Widening input, IWidenTrace trace)
    {
        var ends = Branches.Select(branch => trace.Follow(branch, input)).ToList();
        if (ends.All(e => e is null))
            return null;
        if (ends.Any(e => e is null) || ends.Distinct().Count() > 1)
        {
            int passing = ends.FindIndex(e => e is not null) + 1;
            throw new ArgumentException($"branch {passing} of parallel block '{Name}' passes the new units of '{trace.Widened}' to the block output while another branch absorbs them, so the summed branch outputs would no longer match.");
        }
        return ends[0];
    }

    /// <inheritdoc/>
    public bool Equals(ParallelLayer? other) =>
        other is not null && Name == other.Name && Morphed == other.Morphed &&
        Branches.Length == other.Branches.Length &&
        Branches.Zip(other.Branches).All(p => p.First.SequenceEqual(p.Second));

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Branches.Length);
}

/// <summary>Runs a <see cref="ParallelLayer"/>: the sum of its branches, whose layers' modules the network registers and runs.</summary>
internal sealed class ParallelModule(ParallelLayer layer) : LayerModule<ParallelLayer>(layer)
{
    public override Tensor forward(Tensor input) => throw new InvalidOperationException("A parallel block runs within a network pass.");

    public override Tensor Run(Tensor input, NetworkPass pass)
    {
        Tensor? sum = null;
        foreach (var branch in Layer.Branches)
        {
            var y = input;
            foreach (var layer in branch)
                y = pass.Run(layer, y);
            sum = sum is null ? y : HeldScalars.Add(sum, y);
        }
        return sum!;
    }
}
