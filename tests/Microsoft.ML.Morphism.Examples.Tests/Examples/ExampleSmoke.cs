// What the example smoke tests share: their collection, their time limit, the committed subset, and a check that a written model works.
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Samples;

namespace Microsoft.ML.Morphism.Tests.Examples;

/// <summary>
/// The examples' smoke tests run one after another (each child process trains a little), in parallel
/// with the other test collections.
/// </summary>
[CollectionDefinition(nameof(ExamplesCollection))]
public sealed class ExamplesCollection;

internal static partial class ExampleSmoke
{
    /// <summary>Generous for a tiny run (seconds when the machine is idle), so a busy CI machine does not fail it.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    /// <summary>The first <paramref name="perClass"/> images of each class of one split of the committed subset.</summary>
    public static IReadOnlyList<ImageFolderRow> SubsetRows(string split, int perClass) =>
        ExampleData.TakePerClass(ImageFolder.Enumerate(CommittedSubset.Folder, split), perClass);

    /// <summary>
    /// Loads <paramref name="modelPath"/> with stock <c>ml.Model.Load</c> (a fresh MLContext) and scores
    /// <paramref name="rows"/> with it; checks that every row gets a probability vector over the ten
    /// classes and a predicted label that is one of them.
    /// </summary>
    /// <returns>The loaded model, and each row's scores.</returns>
    public static (ITransformer Model, float[][] Scores) LoadAndScore(string modelPath, IReadOnlyList<ImageFolderRow> rows) =>
        LoadAndScore(modelPath, ["ImagePath", "Label"], ml => ml.Data.LoadFromEnumerable(rows));

    /// <summary>Loads a saved model whose input columns are <paramref name="inputColumns"/> and scores <paramref name="data"/> with it.</summary>
    public static (ITransformer Model, float[][] Scores) LoadAndScore(string modelPath, string[] inputColumns, Func<MLContext, IDataView> data)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(modelPath, out var schema);
        Assert.Equal(inputColumns, schema.Select(c => c.Name));
        var scored = model.Transform(data(ml));
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var predicted = scored.GetColumn<string>("PredictedLabel").ToArray();
        Assert.Equal(scores.Length, predicted.Length);
        Assert.All(scores, s => Assert.Equal(1.0, s.Sum(), 3));
        Assert.All(scores, s => Assert.Equal(FashionMnist.ClassCount, s.Length));
        Assert.All(predicted, label => Assert.Contains(label, FashionMnist.FolderNames));
        return (model, scores);
    }

    /// <summary>The percentage printed after <paramref name="label"/> on a line of <paramref name="output"/> (culture-neutral: any decimal separator).</summary>
    public static double Percent(string output, string label)
    {
        var match = Regex.Match(output, Regex.Escape(label) + @"\s+(?<value>\d+[.,]\d+)\s?%");
        Assert.True(match.Success, $"no percentage after '{label}' in:{Environment.NewLine}{output}");
        return double.Parse(match.Groups["value"].Value.Replace(',', '.'), CultureInfo.InvariantCulture);
    }

    /// <summary>The "prediction agreement: A/B" figures of a printed morph report.</summary>
    public static (int Agreeing, int Inputs) Agreement(string output)
    {
        var match = AgreementPattern().Match(output);
        Assert.True(match.Success, $"no prediction agreement line in:{Environment.NewLine}{output}");
        return (int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Asserts a run failed the way a user mistake should: the given exit code, a message naming the problem, no stack trace.</summary>
    public static void AssertCleanFailure(Infrastructure.ExampleRun run, int exitCode, string expectedMessage)
    {
        Assert.True(run.ExitCode == exitCode, run.ToString());
        Assert.Contains(expectedMessage, run.StandardError);
        Assert.DoesNotContain("   at ", run.StandardError);
        Assert.DoesNotContain("Unhandled exception", run.StandardError);
    }

    [GeneratedRegex(@"prediction agreement: (\d+)/(\d+)")]
    private static partial Regex AgreementPattern();
}
