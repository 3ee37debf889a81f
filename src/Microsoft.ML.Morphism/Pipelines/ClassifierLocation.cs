// Finds the morphable classifier inside a fitted model (alone or in nested transformer chains) and rebuilds the model around a replacement.
using Microsoft.ML.Data;

namespace Microsoft.ML.Morphism.Pipelines;

/// <summary>
/// Where the (last) <see cref="MorphableImageClassifierTransformer"/> sits in a fitted model, how to
/// compute its input from the model's input (everything upstream, as fitted), and how to rebuild the
/// model — same transformers, same chain nesting and scopes — with another classifier in its place.
/// </summary>
internal sealed record ClassifierLocation(
    MorphableImageClassifierTransformer Classifier,
    Func<IDataView, IDataView> Upstream,
    Func<MorphableImageClassifierTransformer, ITransformer> Replace)
{
    public static ClassifierLocation Find(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return TryFind(model)
            ?? throw new ArgumentException($"The model contains no {nameof(MorphableImageClassifierTransformer)} to morph; it holds: {Describe(model)}.", nameof(model));
    }

    private static ClassifierLocation? TryFind(ITransformer model)
    {
        if (model is MorphableImageClassifierTransformer classifier)
            return new ClassifierLocation(classifier, data => data, replacement => replacement);
        if (model is not ITransformerChainAccessor chain)
            return null;
        var transformers = chain.Transformers;
        for (int i = transformers.Length - 1; i >= 0; i--)
        {
            if (TryFind(transformers[i]) is not { } inner)
                continue;
            int index = i;
            return new ClassifierLocation(
                inner.Classifier,
                data =>
                {
                    for (int j = 0; j < index; j++)
                        data = transformers[j].Transform(data);
                    return inner.Upstream(data);
                },
                replacement =>
                {
                    var copy = (ITransformer[])transformers.Clone();
                    copy[index] = inner.Replace(replacement);
                    return new TransformerChain<ITransformer>(copy, chain.Scopes);
                });
        }
        return null;
    }

    private static string Describe(ITransformer model) => model is ITransformerChainAccessor chain
        ? "[" + string.Join(", ", chain.Transformers.Select(Describe)) + "]"
        : model.GetType().Name;
}
