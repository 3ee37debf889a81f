// The base of every morph: a serialisable step plus one function from a parent to a child network.
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

/// <summary>
/// One function-preserving change to a network. A step is data (its parameters; it serialises to
/// JSON and prints in the plan text form, see <see cref="MorphPlan"/>) plus <see cref="Apply"/>,
/// which maps (description, weights) to (description′, weights′) and never modifies its inputs.
/// Invalid requests (unknown layer, shrinking, a layer kind the morph does not apply to, ...) throw
/// an <see cref="ArgumentException"/> naming the layer and the valid choices.
/// </summary>
/// <remarks>
/// A morph is one file: the step record (its <see cref="ApplyCore"/>, its plan text: <see cref="IStepText"/>
/// reads it, <see cref="ToString"/> writes it) and its fluent <see cref="MorphPlan"/> method. The
/// <see cref="JsonDerivedTypeAttribute"/> list below is the one registration; its names are the text names.
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "morph")]
[JsonDerivedType(typeof(DeepenStep), "deepen")]
[JsonDerivedType(typeof(WidenStep), "widen")]
[JsonDerivedType(typeof(EnlargeKernelStep), "kernel")]
[JsonDerivedType(typeof(AddBranchStep), "branch")]
[JsonDerivedType(typeof(AddSkipStep), "skip")]
[JsonDerivedType(typeof(InsertBatchNormStep), "bn")]
[JsonDerivedType(typeof(InsertIdentityStep), "identity")]
public abstract record MorphStep
{
    /// <summary>
    /// Applies the step to copies of <paramref name="network"/> and <paramref name="weights"/>; the
    /// child computes the same logits as the parent (eval mode) up to floating-point rounding.
    /// </summary>
    public MorphOutcome Apply(NetworkDescription network, NetworkWeights weights, MorphContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(weights);
        weights.Validate(network);
        var outcome = ApplyCore(network, weights, context ?? new MorphContext());
        try
        {
            outcome.Weights.Validate(outcome.Network);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{this} produced weights that do not fit the child network: {e.Message}", e);
        }
        return outcome;
    }

    /// <summary>The morph itself; implementations build new descriptions and weights and leave their inputs alone.</summary>
    protected abstract MorphOutcome ApplyCore(NetworkDescription network, NetworkWeights weights, MorphContext context);

    /// <summary>
    /// Carries an optimizer's per-parameter state (<paramref name="state"/>, of <paramref name="parent"/>) to the child
    /// in <paramref name="outcome"/> (this step's outcome on that parent), so that training continues across a growth
    /// point as if the child had been trained all along: state follows the values. The default keeps the state of every
    /// parameter that has the same key and shape in the child and starts everything else fresh (zero moments, step 0):
    /// right for morphs that only add parameters (skip, bn, identity). Morphs that reshape or re-solve existing
    /// parameters override it (widen and kernel pad the state exactly where the weights grew; deepen and branch say
    /// which parameter inherits what).
    /// </summary>
    public virtual ParameterStates CarryState(ParameterStates state, NetworkDescription parent, MorphOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(outcome);
        return state.KeepMatching(outcome.Network);
    }

    /// <summary>The plan text form of this step, e.g. <c>deepen(conv2, kernel=3)</c>.</summary>
    public abstract override string ToString();

    /// <summary>This step's call in the plan text, its arguments still to add: <c>widen</c> (the name is the JSON name).</summary>
    private protected TextCall NewCall() => new(MorphPlan.StepName(GetType()));

    /// <summary>A step's call as the plan text prints it: <c>widen(conv1, 32)</c>.</summary>
    private protected static string Print(TextCall call) => call.Print(MorphPlan.Comma);

    /// <summary>An <see cref="ArgumentException"/> that starts with this step, for invalid requests.</summary>
    private protected ArgumentException Invalid(string message) => new($"{this}: {message}");
}

/// <summary>
/// What a morph step adds to the plan text form besides its <see cref="MorphStep.ToString"/>: how it reads its
/// call (implemented as a static member of the step; its name in the text is its JSON name).
/// </summary>
internal interface IStepText
{
    /// <summary>The step a call of its name describes.</summary>
    static abstract MorphStep Read(CallReader call);
}

/// <summary>The child network a step produced, the step as applied (with any automatic choices resolved) and, for solved morphs, the solver's report.</summary>
/// <param name="Network">The child description.</param>
/// <param name="Weights">The child weights.</param>
/// <param name="Step">The step with automatic choices made explicit (e.g. the width a deepen chose).</param>
/// <param name="Solver">How the new filters were found (depth morphs), else null.</param>
public sealed record MorphOutcome(NetworkDescription Network, NetworkWeights Weights, MorphStep Step, SolverReport? Solver = null);

/// <summary>How a depth morph found its filters: method, residual ‖G̃ − F₂⊛F₁‖/‖G̃‖, density of the new parameters and solve time.</summary>
/// <param name="Method">The method used (NetMorph dense, NetMorph practical, IdMorph).</param>
/// <param name="Width">The width of the inserted layer.</param>
/// <param name="Residual">Relative residual of the kernel factorisation, in double precision.</param>
/// <param name="Density">Fraction of non-zero values among the parameters of the two filters that replace the parent's.</param>
/// <param name="Milliseconds">Solver wall time.</param>
public sealed record SolverReport(string Method, int Width, double Residual, double Density, double Milliseconds);

/// <summary>
/// What a step may need beyond the network: a seed for the random parts of new weights, and
/// optionally a sample of network inputs (for data-driven statistics such as <c>InsertBatchNorm</c>).
/// </summary>
public sealed class MorphContext
{
    /// <summary>Creates a context.</summary>
    /// <param name="seed">Seed of the random values new weights start from; the same seed gives bit-identical children.</param>
    /// <param name="sample">A batch of network inputs shaped [N, ...input], or null.</param>
    public MorphContext(int seed = 0, WeightTensor? sample = null)
    {
        Seed = seed;
        Sample = sample;
    }

    /// <summary>Seed of the random values new weights start from.</summary>
    public int Seed { get; }

    /// <summary>A batch of network inputs shaped [N, ...input] (or null).</summary>
    public WeightTensor? Sample { get; }

    /// <summary>A fresh random stream for this context's seed.</summary>
    internal GaussianRandom NewRandom() => new(Seed);

    /// <summary>The context for step <paramref name="index"/> of a plan: same sample, a seed derived deterministically.</summary>
    public MorphContext ForStep(int index) => new(unchecked((int)Mix((uint)Seed, (uint)index)), Sample);

    // A fixed integer mix (not HashCode.Combine, which is randomised per process).
    private static uint Mix(uint seed, uint index)
    {
        uint x = seed * 0x9E3779B1u + index * 0x85EBCA77u + 0x165667B1u;
        x ^= x >> 15;
        x *= 0x2C1B3C6Du;
        x ^= x >> 12;
        x *= 0x297A2D39u;
        return x ^ (x >> 15);
    }
}
