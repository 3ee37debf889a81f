using System.Reflection;
using System.Text.Json;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Compatibility;

/// <summary>
/// Models saved by earlier versions keep loading and scoring exactly as they did. The committed
/// <c>ReferenceModels/vN.zip</c> (format version N: a trained, then widened, classifier inside a
/// MapValueToKey → classifier → MapKeyToValue pipeline) and their recorded scores must never change.
/// Set MORPHISM_WRITE_REFERENCE_MODEL=vN only when adding a NEW format version's reference model.
/// </summary>
public class ReferenceModelTests
{
    private static string Folder => Path.Combine(typeof(ReferenceModelTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!, "tests", "Microsoft.ML.Morphism.Tests", "Compatibility", "ReferenceModels");

    [Theory]
    [InlineData("v1")]
    [InlineData("v2")]
    public void ReferenceModelOfEachFormatVersionLoadsAndScoresAsRecorded(string version)
    {
        var modelPath = Path.Combine(Folder, $"{version}.zip");
        var scoresPath = Path.Combine(Folder, $"{version}.scores.json");
        if (Environment.GetEnvironmentVariable("MORPHISM_WRITE_REFERENCE_MODEL") == version)
            Write(modelPath, scoresPath, activationLearningRateFactor: version == "v1" ? 1 : 3);

        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(modelPath, out _);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 2, seed: 77));
        var scored = model.Transform(data);
        var expected = JsonSerializer.Deserialize<Recorded>(File.ReadAllText(scoresPath))!;

        // Same model, same inputs: equal up to the CPU's kernel choice (oneDNN picks by instruction set).
        var actual = scored.GetColumn<float[]>("Score").ToArray();
        Assert.Equal(expected.Scores.Length, actual.Length);
        Assert.All(expected.Scores.Zip(actual), p => Assert.Equal(p.First, p.Second, (a, b) => Math.Abs(a - b) <= 1e-5f));
        Assert.Equal(expected.Predicted, scored.GetColumn<string>("PredictedLabel").ToArray());
        var classifier = ml.Morphism().FindClassifier(model);
        Assert.Equal(expected.Network, classifier.Network.ToString());
        Assert.Equal(expected.History, string.Join(" ", classifier.MorphHistory));
        Assert.NotNull(classifier.LastMorphReport);
        Assert.True(classifier.LastMorphReport!.MaxRelError < 1e-5);
        // Absent from version 1 recipes (read as the default, 1); version 2's reference stored 3.
        Assert.Equal(version == "v1" ? 1 : 3, classifier.Model.Recipe.ActivationLearningRateFactor);
    }

    [Fact]
    public void SavedModelsDeclareVersion3AndVersion2AsTheOldestThatCanReadThem()
    {
        // Version-1 readers would refuse a version-2 recipe as corrupt; declaring version 2 the oldest reader makes
        // ML.NET tell them "the model is too new" instead. Version 3 only adds an optional part, so version 2 still reads it.
        var (written, readable, _) = SaveAndReadHeader(new MorphableImageClassifierTrainer.Options());
        Assert.Equal(MorphableImageClassifierTransformer.FormatVersion, written);
        Assert.Equal(0x00010002u, readable);
        Assert.Equal(0x00010004u, MorphableImageClassifierTransformer.FormatVersion);
    }

    [Fact]
    public void ARecipeWithVersion3KnobsDeclaresVersion3AsTheOldestReader()
    {
        // A version-2 reader would refuse ActivationAnnealEpochs as an unknown recipe member, i.e. as damage.
        var (written, readable, loaded) = SaveAndReadHeader(new MorphableImageClassifierTrainer.Options { ActivationAnnealEpochs = 2 });
        Assert.Equal(MorphableImageClassifierTransformer.FormatVersion, written);
        Assert.Equal(0x00010003u, readable);
        Assert.Equal(2, loaded.Model.Recipe.ActivationAnnealEpochs);
    }

    [Fact]
    public void ARecipeWithEarlyStoppingCriteriaDeclaresVersion4AsTheOldestReader()
    {
        // A version-3 reader would refuse EarlyStoppingMetric and EarlyStoppingMinDelta as unknown recipe members.
        var (written, readable, loaded) = SaveAndReadHeader(new MorphableImageClassifierTrainer.Options
        {
            EarlyStoppingCriteria = new EarlyStopping(patience: 2, minDelta: 0.01, metric: Training.EarlyStoppingMetric.ValidationAccuracy),
        });
        Assert.Equal(MorphableImageClassifierTransformer.FormatVersion, written);
        Assert.Equal(0x00010004u, readable);
        Assert.Equal((2, Training.EarlyStoppingMetric.ValidationAccuracy, 0.01),
            (loaded.Model.Recipe.EarlyStoppingPatience, loaded.Model.Recipe.EarlyStoppingMetric, loaded.Model.Recipe.EarlyStoppingMinDelta));
    }

    private static (uint Written, uint Readable, MorphableImageClassifierTransformer Loaded) SaveAndReadHeader(MorphableImageClassifierTrainer.Options knobs)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 2, seed: 1));
        using var dir = new TempDirectory();
        var path = dir.File("model.zip");
        var options = Reliability.SmallModels.Options();
        options.ActivationAnnealEpochs = knobs.ActivationAnnealEpochs;
        options.EarlyStoppingCriteria = knobs.EarlyStoppingCriteria;
        ml.Model.Save(Reliability.SmallModels.Train(ml, data, options), data.Schema, path);
        var loaded = ml.Morphism().FindClassifier(ml.Model.Load(path, out _));

        var (written, readable) = Reliability.SavedModelFile.ClassifierVersion(path);
        return (written, readable, loaded);
    }

    private static void Write(string modelPath, string scoresPath, double activationLearningRateFactor)
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 6, seed: 76));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
            {
                ImageHeight = SyntheticImages.Size, ImageWidth = SyntheticImages.Size, Architecture = "conv(3,3) bn relu maxpool(2) flatten",
                MaxEpoch = 2, BatchSize = 8, ActivationLearningRateFactor = activationLearningRateFactor,
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var parent = pipeline.Fit(train);
        var child = parent.Morph(ml, m => m.Widen("conv1", 4), new RefitOptions { MaxEpoch = 1 }).Fit(train);
        Directory.CreateDirectory(Folder);
        ml.Morphism().SaveModel(child, train.Schema, modelPath);

        var loaded = ml.Model.Load(modelPath, out _);
        var scored = loaded.Transform(ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 2, seed: 77)));
        var classifier = ml.Morphism().FindClassifier(loaded);
        var recorded = new Recorded(scored.GetColumn<float[]>("Score").ToArray(), scored.GetColumn<string>("PredictedLabel").ToArray(),
            classifier.Network.ToString(), string.Join(" ", classifier.MorphHistory));
        File.WriteAllText(scoresPath, JsonSerializer.Serialize(recorded, new JsonSerializerOptions { WriteIndented = true }));
    }

    private sealed record Recorded(float[][] Scores, string[] Predicted, string Network, string History);
}
