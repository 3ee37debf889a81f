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
        var rows = ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1);
        ExampleSmoke.LoadAndScore(model, rows);
        var (grownModel, _) = ExampleSmoke.LoadAndScore(grown, rows);
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
        Assert.Contains($"inputColumnName: @\"{option.GetProperty("ImageColumn").GetString()}\"", training);
        Assert.Equal("MorphableImageClassifier", option.GetProperty("Trainer").GetString());
        Assert.Contains("Trainers.MorphableImageClassifier(", training);
        Assert.Contains($"Architecture = \"{trainer.GetProperty("Architecture").GetString()}\";", training);
        Assert.Contains($"MaxEpoch = {trainer.GetProperty("MaxEpoch").GetInt32()};", training);
        Assert.Contains($"BatchSize = {trainer.GetProperty("BatchSize").GetInt32()};", training);
        foreach (var dimension in new[] { "ImageHeight", "ImageWidth", "ImageChannels" })
            Assert.Contains($"{dimension} = {trainer.GetProperty(dimension).GetInt32()},", training);
        Assert.Contains($"GrowPlan = \"{root.GetProperty("GrowOption").GetProperty("Plan").GetString()}\";", grow);
        Assert.Contains($"GrowEpochs = {root.GetProperty("GrowOption").GetProperty("RefitEpochs").GetInt32()};", grow);
    }
}
