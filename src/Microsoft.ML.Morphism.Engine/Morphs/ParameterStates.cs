// An optimizer's per-parameter state (momentum, Adam moments, per-entry step counts) as plain arrays, so each morph can carry it to the child.
using System.Collections.Immutable;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// The state an optimizer keeps for each trainable parameter, by parameter key (<c>conv1.weight</c>), as
/// named slots shaped exactly like the parameter: <see cref="Momentum"/> for SGD; <see cref="ExpAvg"/>,
/// <see cref="ExpAvgSq"/> and <see cref="Step"/> for Adam. <see cref="Step"/> holds one step count per
/// entry, so an entry a morph added can start at step 0 while its neighbours keep theirs. A key that is
/// absent, like an entry that is zero in every slot, is fresh state: what the optimizer has before its
/// first step. Immutable; morphs map it from parent to child with <see cref="MorphStep.CarryState"/>.
/// </summary>
public sealed class ParameterStates
{
    /// <summary>SGD's momentum buffer.</summary>
    public const string Momentum = "momentum_buffer";
    /// <summary>Adam's first moment (running mean of the gradient).</summary>
    public const string ExpAvg = "exp_avg";
    /// <summary>Adam's second moment (running mean of the squared gradient).</summary>
    public const string ExpAvgSq = "exp_avg_sq";
    /// <summary>Adam's step count, one per entry (its bias correction uses the entry's own count).</summary>
    public const string Step = "step";

    private readonly ImmutableSortedDictionary<string, ImmutableSortedDictionary<string, WeightTensor>> _states;

    /// <summary>No state: every parameter fresh.</summary>
    public static ParameterStates Empty { get; } = new(ImmutableSortedDictionary.Create<string, ImmutableSortedDictionary<string, WeightTensor>>(StringComparer.Ordinal));

    private ParameterStates(ImmutableSortedDictionary<string, ImmutableSortedDictionary<string, WeightTensor>> states) => _states = states;

    /// <summary>The parameters with state, ordinal order.</summary>
    public IEnumerable<string> Keys => _states.Keys;

    /// <summary>True when <paramref name="key"/> has state.</summary>
    public bool Contains(string key) => _states.ContainsKey(key);

    /// <summary>The slots of <paramref name="key"/>, or null when it is fresh.</summary>
    public IReadOnlyDictionary<string, WeightTensor>? this[string key] => _states.TryGetValue(key, out var slots) ? slots : null;

    /// <summary>New state with the slots of <paramref name="key"/> set (all shaped alike).</summary>
    public ParameterStates With(string key, IEnumerable<KeyValuePair<string, WeightTensor>> slots)
    {
        ArgumentNullException.ThrowIfNull(key);
        var map = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, slots);
        if (map.Values.Select(t => string.Join(",", t.Shape)).Distinct().Count() > 1)
            throw new ArgumentException($"The optimizer state slots of '{key}' have different shapes: {string.Join(", ", map.Select(s => $"{s.Key} {s.Value.ShapeText}"))}.");
        return new(_states.SetItem(key, map));
    }

    /// <summary>New state without <paramref name="key"/> (it becomes fresh).</summary>
    public ParameterStates Without(string key) => new(_states.Remove(key));

    /// <summary>New state in which <paramref name="to"/> has what <paramref name="from"/> had (fresh if it had nothing) and <paramref name="from"/> is fresh.</summary>
    public ParameterStates Move(string from, string to)
    {
        var slots = this[from];
        var moved = Without(from).Without(to);
        return slots is null ? moved : moved.With(to, slots);
    }

    /// <summary>New state with every slot of <paramref name="key"/> mapped by <paramref name="map"/> (nothing when it is fresh).</summary>
    public ParameterStates Map(string key, Func<WeightTensor, WeightTensor> map)
    {
        if (this[key] is not { } slots)
            return this;
        return With(key, slots.Select(s => KeyValuePair.Create(s.Key, map(s.Value))));
    }

    /// <summary>
    /// The default carry: the state of every parameter the child has under the same key with the same shape;
    /// everything else (new parameters, parameters whose shape changed) fresh.
    /// </summary>
    public ParameterStates KeepMatching(NetworkDescription child)
    {
        ArgumentNullException.ThrowIfNull(child);
        var shapes = child.ParameterSpecs.Where(p => !p.IsBuffer).ToDictionary(p => p.Key, p => p.Shape, StringComparer.Ordinal);
        var kept = _states.Where(s => shapes.TryGetValue(s.Key, out var shape) && s.Value.Values.All(t => t.Shape.SequenceEqual(shape)));
        return new(ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, kept));
    }
}
