// An ordered list of morph steps: the fluent API users write, and what a model's history records.
using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// An ordered, immutable-once-applied list of <see cref="MorphStep"/>s, built fluently:
/// <c>new MorphPlan().Deepen(after: "conv2").Widen("conv1", 32).EnlargeKernel("conv2", 5)</c>.
/// The same steps drive the ML.NET <c>Morph()</c> estimator, a saved model's morph history and the reports.
/// </summary>
public sealed partial class MorphPlan
{
    private readonly List<MorphStep> _steps = [];

    /// <summary>An empty plan.</summary>
    public MorphPlan()
    {
    }

    /// <summary>A plan of the given steps.</summary>
    public MorphPlan(IEnumerable<MorphStep> steps) => _steps.AddRange(steps);

    /// <summary>The steps in order.</summary>
    public IReadOnlyList<MorphStep> Steps => _steps;

    /// <summary>Appends a step.</summary>
    public MorphPlan Add(MorphStep step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _steps.Add(step);
        return this;
    }

    /// <summary>
    /// Applies the steps in order to copies of the parent. Step <c>i</c> gets
    /// <c>context.ForStep(i)</c>, so a plan is deterministic in the context's seed.
    /// </summary>
    public MorphChainOutcome Apply(NetworkDescription network, NetworkWeights weights, MorphContext? context = null)
    {
        if (_steps.Count == 0)
            throw new ArgumentException("The morph plan has no steps.");
        if (_steps.Count > MaxSteps)
            throw new ArgumentException($"The morph plan has {_steps.Count:N0} steps; the limit is {MaxSteps:N0}.");
        context ??= new MorphContext();
        var outcomes = ImmutableArray.CreateBuilder<MorphOutcome>(_steps.Count);
        var (currentNetwork, currentWeights) = (network, weights);
        for (int i = 0; i < _steps.Count; i++)
        {
            var outcome = _steps[i].Apply(currentNetwork, currentWeights, context.ForStep(i));
            outcomes.Add(outcome);
            (currentNetwork, currentWeights) = (outcome.Network, outcome.Weights);
        }
        return new MorphChainOutcome(currentNetwork, currentWeights, outcomes.MoveToImmutable());
    }

    /// <summary>The plan text form: the steps' text forms separated by spaces.</summary>
    public override string ToString() => string.Join(" ", _steps);

    /// <summary>The JSON form: an array of steps, each with a <c>"morph"</c> kind.</summary>
    public string ToJson() => JsonSerializer.Serialize(_steps, JsonOptions);

    /// <summary>Reads the JSON form.</summary>
    /// <exception cref="FormatException">The JSON is malformed or names an unknown morph.</exception>
    public static MorphPlan FromJson(string json)
    {
        try
        {
            var steps = JsonSerializer.Deserialize<List<MorphStep>>(json, JsonOptions);
            if (steps is null || steps.Any(s => s is null))
                throw new FormatException("Morph plan JSON is not valid: null step.");
            if (steps.Count > MaxSteps)
                throw new FormatException($"Morph plan JSON has {steps.Count:N0} steps; the limit is {MaxSteps:N0}.");
            return new MorphPlan(steps);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Morph plan JSON is not valid: {e.Message}", e);
        }
    }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}

/// <summary>The child after a whole plan, and each step's outcome.</summary>
public sealed record MorphChainOutcome(NetworkDescription Network, NetworkWeights Weights, ImmutableArray<MorphOutcome> Steps)
{
    /// <summary>
    /// Carries an optimizer's state of <paramref name="parent"/> (the network the plan was applied to) through every
    /// step in order, each by its own rule (<see cref="MorphStep.CarryState"/>).
    /// </summary>
    public ParameterStates CarryState(ParameterStates state, NetworkDescription parent)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parent);
        var network = parent;
        foreach (var outcome in Steps)
        {
            state = outcome.Step.CarryState(state, network, outcome);
            network = outcome.Network;
        }
        return state;
    }
}
