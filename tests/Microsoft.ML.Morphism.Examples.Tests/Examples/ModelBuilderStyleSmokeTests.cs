// Smoke tests of examples/ModelBuilderStyle: train, predict, grow, predict again, reuse the model file; and the .mbconfig describes the code.
using System.Reflection;
using System.Text.Json;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Tests.Samples;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class ModelBuilderStyleSmokeTests
{
    private static readonly string ProjectFolder = Path.Combine(
        typeof(ModelBuilderStyleSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepositoryRoot").Value!,
        "examples", "ModelBuilderStyle");

    [Fact]
    public void TrainsPredictsGrowsAndPredictsWithTheGrownModelThenReusesTheModelFile()
    {
        using var dir = new TempDirectory();
        string[] tiny = ["--out", dir.Path, "--epochs", "1", "--grow-epochs", "1", "--train-per-class", "10"];

        var first = ExampleProcess.Run("ModelBuilderStyle", ExampleSmoke.Timeout, tiny);

        Assert.True(first.ExitCode == 0, first.ToString());
        var model = dir.File("FashionClassifier.mlnet");
        var grown = dir.File("FashionClassifier.grown.mlnet");
        Assert.Contains($"saved {model}", first.StandardOutput);
        Assert.Contains($"Grew the model with deepen(conv2) widen(conv1, 32) kernel(conv2, 5) and 1 refit epochs into {grown}", first.StandardOutput);
        var (agreeing, inputs) = ExampleSmoke.Agreement(first.StandardOutput);
        Assert.Equal(inputs, agreeing);
        // One prediction line per class, by both models: the first test image of each class.
        foreach (var row in ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1))
            Assert.Contains($"{row.Label}/{Path.GetFileName(row.ImagePath)}", first.StandardOutput);
        Assert.Matches(@"Correct: FashionClassifier \d+/10, grown \d+/10", first.StandardOutput);
        // Model Builder's input: the label and the image file's bytes.
        var rows = ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1)
            .Select(r => new ModelInput { Label = r.Label, ImageSource = File.ReadAllBytes(r.ImagePath) }).ToList();
        string[] columns = ["Label", "ImageSource"];
        ExampleSmoke.LoadAndScore(model, columns, ml => ml.Data.LoadFromEnumerable(rows));
        var (grownModel, grownScores) = ExampleSmoke.LoadAndScore(grown, columns, ml => ml.Data.LoadFromEnumerable(rows));
        Assert.Equal(rows.Count, grownScores.Length);
        Assert.Equal(3, new MLContext().Morphism().FindClassifier(grownModel).MorphHistory.Count);

        var modelBytes = File.ReadAllBytes(model);
        var second = ExampleProcess.Run("ModelBuilderStyle", ExampleSmoke.Timeout, tiny);

        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains($"Reusing {model}", second.StandardOutput);
        Assert.Equal(modelBytes, File.ReadAllBytes(model));
    }

    [Fact]
    public void MbconfigDescribesTheGeneratedCode()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(ProjectFolder, "FashionClassifier.mbconfig")));
        var root = config.RootElement;
        var training = File.ReadAllText(Path.Combine(ProjectFolder, "FashionClassifier.training.cs"));
        var consumption = File.ReadAllText(Path.Combine(ProjectFolder, "FashionClassifier.consumption.cs"));
        var grow = File.ReadAllText(Path.Combine(ProjectFolder, "FashionClassifier.grow.cs"));
        var option = root.GetProperty("TrainingOption");
        var trainer = option.GetProperty("TrainerOptions");

        Assert.Equal("ImageClassification", root.GetProperty("Scenario").GetString());
        // The data source, relative to the mbconfig, is the committed subset's training split that the code trains on.
        var dataSource = Path.GetFullPath(Path.Combine(ProjectFolder, root.GetProperty("DataSource").GetProperty("FolderPath").GetString()!));
        Assert.Equal(Path.GetFullPath(Path.Combine(CommittedSubset.Folder, FashionMnistSubset.TrainFolder)), dataSource);
        Assert.Contains("FashionMnistSubset.TrainFolder", training);
        Assert.Contains($"[ColumnName(@\"{option.GetProperty("LabelColumn").GetString()}\")]", consumption);
        Assert.Contains($"[ColumnName(@\"{option.GetProperty("ImageColumn").GetString()}\")]", consumption);
        // mbconfig-era Model Builder: the image bytes go straight to the trainer, with no image-loading step.
        Assert.Contains($"FeatureColumnName = @\"{option.GetProperty("ImageColumn").GetString()}\",", training);
        Assert.Contains("public byte[] ImageSource", consumption);
        Assert.DoesNotContain("LoadImages", training);
        Assert.Equal("MorphableImageClassifier", option.GetProperty("Trainer").GetString());
        Assert.Contains("Trainers.MorphableImageClassifier(", training);
        Assert.Contains($"Architecture = \"{trainer.GetProperty("Architecture").GetString()}\";", training);
        Assert.Contains($"MaxEpoch = {trainer.GetProperty("MaxEpoch").GetInt32()};", training);
        Assert.Contains($"BatchSize = {trainer.GetProperty("BatchSize").GetInt32()};", training);
        // The image shape is inferred from the images, as Model Builder's own image trainer does.
        foreach (var dimension in new[] { "ImageHeight", "ImageWidth", "ImageChannels" })
        {
            Assert.False(trainer.TryGetProperty(dimension, out _));
            Assert.DoesNotContain(dimension, training);
        }
        Assert.Contains($"GrowPlan = \"{root.GetProperty("GrowOption").GetProperty("Plan").GetString()}\";", grow);
        Assert.Contains($"GrowEpochs = {root.GetProperty("GrowOption").GetProperty("RefitEpochs").GetInt32()};", grow);
    }

    /// <summary>The example's ModelInput (the test does not reference the example's assembly).</summary>
    private sealed class ModelInput
    {
        public string Label { get; set; } = "";

        public byte[] ImageSource { get; set; } = [];
    }
}
