// The morph-then-refit step as an ML.NET estimator, and the .Morph() extension that creates it.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Data.DataLoadSave;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Runs;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism;

/// <summary>
/// Grows the <see cref="MorphableImageClassifierTransformer"/> inside a fitted model. <see cref="Fit"/>
/// keeps every upstream transformer as fitted, applies the plan to the classifier (function-preserving:
/// a <see cref="ClassifierTrainingOptions.MaxEpoch"/> of 0 gives the parent's scores), refits the child from the
/// morphed weights, and returns a model of the same shape with the child in the parent's place. The
/// parent is never modified.
/// </summary>
public sealed class MorphEstimator : IEstimator<ITransformer>
{
    private readonly IHost _host;
    private readonly ITransformer _parent;
    private readonly MorphPlan _plan;
    private readonly RefitOptions _refit;

    internal MorphEstimator(IHostEnvironment env, ITransformer parent, MorphPlan plan, RefitOptions? refit)
    {
        _host = Contracts.CheckRef(env, nameof(env)).Register(nameof(MorphEstimator));
        _host.CheckValue(parent, nameof(parent));
        _host.CheckValue(plan, nameof(plan));
        ClassifierLocation.Find(parent); // fail early when there is nothing to morph
        if (plan.Steps.Count == 0)
            throw new ArgumentException("The morph plan has no steps.", nameof(plan));
        _parent = parent;
        _plan = new MorphPlan(plan.Steps);
        _refit = refit ?? new RefitOptions();
    }

    /// <summary>The plan this estimator applies.</summary>
    public MorphPlan Plan => new(_plan.Steps);

    /// <summary>Morphs and refits on <paramref name="input"/> (the same kind of data the parent model was fitted on).</summary>
    public ITransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        return MorphAndRefit.Run(_host, _parent, _plan, _refit, input).Model;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        SchemaShape.Create(_parent.GetOutputSchema(FakeSchemaFactory.Create(inputSchema)));
}

/// <summary>The <c>Morph()</c> entry point on fitted models.</summary>
public static class MorphExtensions
{
    /// <summary>
    /// An estimator that morphs the classifier in <paramref name="model"/> with the steps
    /// <paramref name="plan"/> adds (e.g. <c>m => m.Deepen(after: "conv2").Widen("conv1", 32)</c>) and refits it.
    /// </summary>
    public static MorphEstimator Morph(this ITransformer model, MLContext ml, Func<MorphPlan, MorphPlan> plan, RefitOptions? refit = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new MorphEstimator(ml, model, plan(new MorphPlan()), refit);
    }

    /// <summary>An estimator that morphs the classifier in <paramref name="model"/> with <paramref name="plan"/> and refits it.</summary>
    public static MorphEstimator Morph(this ITransformer model, MLContext ml, MorphPlan plan, RefitOptions? refit = null) =>
        new(ml, model, plan, refit);
}
