// The model to upgrade, loaded once up front so that a missing, damaged or foreign file is reported before any work.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;

namespace ModelUpgradeCli;

/// <summary>A saved model that holds a <see cref="MorphableImageClassifierTransformer"/>, with its input schema.</summary>
internal sealed record SavedModel(string Path, DataViewSchema InputSchema, MorphableImageClassifierTransformer Classifier)
{
    /// <summary>Loads <paramref name="path"/> with stock ML.NET and finds the classifier in it.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="InvalidDataException">The file is not an ML.NET model, is damaged, or holds no morphable classifier.</exception>
    public static SavedModel Load(MLContext ml, string path)
    {
        // LoadModel names a missing file or the damaged part, rather than ML.NET's reflection wrappers.
        var model = ml.Morphism().LoadModel(path, out var schema);
        try
        {
            return new SavedModel(path, schema, ml.Morphism().FindClassifier(model));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' cannot be upgraded: {e.Message}", e);
        }
    }

    /// <summary>
    /// Whether rows of (ImagePath, Label) text columns can go through the saved pipeline, which is what
    /// --refit-data makes; null when they can, else why not.
    /// </summary>
    public string? WhyImageRowsDoNotFit()
    {
        string[] expected = ["ImagePath", "Label"];
        var fits = expected.All(name => InputSchema.GetColumnOrNull(name) is { Type: TextDataViewType });
        return fits ? null
            : $"'{Path}' takes the columns {string.Join(", ", InputSchema.Select(c => $"{c.Name} ({c.Type})"))}; --refit-data gives "
              + "ImagePath + Label text columns, so it can only refit models whose pipelines start from image paths. "
              + "Upgrade without --refit-data (morph only), or refit in code with ml.Morphism().UpgradeModel and your own data.";
    }
}
