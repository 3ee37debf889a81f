// Morphs the classifier inside a fitted model and refits the child: the one implementation behind Morph() and UpgradeModel.
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Internal;
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Runs;

internal static class MorphAndRefit
{
    public sealed record Result(ITransformer Model, MorphableImageClassifierTransformer Child, MorphReport Report);

    public static Result Run(IHost host, ITransformer parent, MorphPlan plan, RefitOptions refit, IDataView? data)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var location = ClassifierLocation.Find(parent);
        var classifier = location.Classifier;
        var model = classifier.Model;
        int seed = refit.Seed ?? model.Recipe.Seed;
        var recipe = refit.ApplyTo(model.Recipe);

        var classifierInput = data is null ? null : location.Upstream(data);
        var features = classifierInput is null ? null : FeatureColumn.Bind(classifierInput.Schema, classifier.FeatureColumnName, model.Network.Input);
        var sample = classifierInput is null ? null : ReadSample(classifierInput, features!, refit.VerificationRows);

        using var channel = host.Start("Morph");
        channel.Info($"Morphing {model.Network.ParameterCount:N0} parameters: {plan}");
        NumericsLog.Ensure(channel, model.Network);
        var chain = plan.Apply(model.Network, model.Weights, new MorphContext(seed, sample));
        NumericsLog.Ensure(channel, chain.Network);
        var report = MorphVerifier.Verify(model.Network, model.Weights, chain, inputs: sample, seed: seed);
        channel.Info($"Morph verified on {report.Inputs} {(sample is null ? "random" : "data")} input(s): max abs logit error {report.MaxAbsError:0.00e+00}, " +
                     $"rel {report.MaxRelError:0.00e+00}, predictions agree {report.AgreeingInputs}/{report.MarginInputs}; parameters {report.ParametersBefore:N0} -> {report.ParametersAfter:N0}.");

        var weights = chain.Weights;
        IReadOnlyList<Training.EpochMetrics> history = [];
        if (recipe.MaxEpoch > 0)
        {
            if (classifierInput is null)
                throw new ArgumentException("Refitting needs data: pass the refit data, or set RefitOptions.MaxEpoch = 0 to morph only.");
            var labels = LabelColumn.Bind(classifierInput, classifier.LabelColumnName);
            if (labels.ClassNames.Count != model.ClassNames.Length)
                throw new ArgumentException($"The refit data's label '{classifier.LabelColumnName}' has {labels.ClassNames.Count} classes but the model has {model.ClassNames.Length}.");
            var validation = refit.ValidationSet is null ? null : location.Upstream(refit.ValidationSet);
            var result = TrainingRun.Run(host, "Refit", chain.Network, chain.Weights, recipe, classifierInput, validation, features!, labels,
                refit.ToRunSettings(refit: true));
            if (result.Message is not null)
                channel.Warning(result.Message);
            weights = result.Weights;
            history = result.History;
        }

        // The child keeps the parent's recipe (not the refit's), so a later refit again starts from the original peak rate.
        var childModel = new MorphableImageClassifierModelParameters(chain.Network, weights, model.ClassNames, model.Recipe,
            [.. model.MorphHistory, .. chain.Steps.Select(s => s.Step)], report, history);
        var child = classifier.WithModel(childModel);
        return new Result(location.Replace(child), child, report);
    }

    /// <summary>The first <paramref name="rows"/> usable rows' features as a batch [N, C, H, W].</summary>
    private static WeightTensor? ReadSample(IDataView data, FeatureColumn features, int rows)
    {
        if (rows <= 0)
            return null;
        var values = new List<double>();
        var row = new float[features.Size];
        int count = 0;
        using (var cursor = data.GetRowCursor(features.ReadColumns))
        {
            var read = features.CreateReader(cursor);
            while (count < rows && cursor.MoveNext())
            {
                if (!read(row))
                    continue;
                foreach (var v in row)
                    values.Add(v);
                count++;
            }
        }
        return count == 0 ? null : new WeightTensor(features.Shape.WithBatch(count), values.ToArray());
    }
}
