// Smoke tests of examples/GrowFashionMnist, the main job: a tiny run of the whole protocol on the committed subset and on the IDX files.
using System.Text.Json;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Tests.Samples;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class GrowFashionMnistSmokeTests
{
    [Fact]
    public void RunsTheWholeProtocolForTwoSeedsAndWritesModelsPlotAndResults()
    {
        using var dir = new TempDirectory();

        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--train-per-class", "10", "--test-per-class", "5",
            "--epochs", "1", "--refit-epochs", "1", "--long-scratch-epochs", "3", "--seeds", "1,2", "--out", dir.Path);

        Assert.True(run.ExitCode == 0, run.ToString());
        var output = run.StandardOutput;
        Assert.Contains("100 training and 50 test PNG images", output);
        Assert.Contains("Morph exact: yes", output);
        Assert.Contains("| child from scratch, long | 3 |", output);
        Assert.Contains("Mean over seeds 1, 2:", output);
        foreach (var file in new[] { "parent.zip", "child.zip", "accuracy.png", "results.json" })
            Assert.True(File.Exists(Path.Combine(dir.Path, file)), file);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(dir.Path, "accuracy.png")).Take(4));

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        var seeds = results.RootElement.GetProperty("seeds");
        Assert.Equal(2, seeds.GetArrayLength());
        foreach (var seed in seeds.EnumerateArray())
        {
            var morph = seed.GetProperty("morph");
            Assert.Equal(morph.GetProperty("parentAccuracy").GetDouble(), morph.GetProperty("childAccuracy").GetDouble());
            Assert.True(morph.GetProperty("maxScoreDifference").GetDouble() <= 1e-4);
            Assert.Equal(morph.GetProperty("marginRows").GetInt32(), morph.GetProperty("marginRowsAgreeing").GetInt32());
            // The refit curve starts with the morphed weights (epoch 0); the others with their first epoch.
            Assert.Equal([0, 1], seed.GetProperty("refit").GetProperty("curve").EnumerateArray().Select(p => p.GetProperty("epoch").GetInt32()));
            Assert.Equal(2, seed.GetProperty("scratch").GetProperty("curve").GetArrayLength());
            Assert.Equal(3, seed.GetProperty("longScratch").GetProperty("curve").GetArrayLength());
        }

        var rows = ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 2);
        ExampleSmoke.LoadAndScore(Path.Combine(dir.Path, "parent.zip"), rows);
        var (child, _) = ExampleSmoke.LoadAndScore(Path.Combine(dir.Path, "child.zip"), rows);
        Assert.Equal("widen(conv1, 24) widen(conv2, 48) kernel(conv1, 5) branch(conv1) deepen(conv2, width=48)",
            string.Join(" ", new MLContext().Morphism().FindClassifier(child).MorphHistory));
    }

    [FactWhenFashionMnistInstalled]
    public void ReadsTheIdxFilesAndCanEvaluateOnHeldOutTrainingImages()
    {
        using var dir = new TempDirectory();

        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--data", FashionMnist.DefaultDataFolder,
            "--train-per-class", "10", "--holdout-per-class", "5", "--epochs", "1", "--refit-epochs", "1", "--out", dir.Path);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("100 training and 50 held-out training images from the IDX files", run.StandardOutput);
        Assert.Contains("Morph exact: yes", run.StandardOutput);
    }

    [Fact]
    public void AnArmThatDivergesIsReportedAsDivergedAndTheJobFinishesWithExitCodeFour()
    {
        using var dir = new TempDirectory();

        // A peak learning rate of 1e30 makes the scratch child's loss NaN within its first batches. The plan keeps every
        // width a multiple of 16, so the other arms stay clear of oneDNN's wrong float32 convolutions on some AVX-512 CPUs.
        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--train-per-class", "10", "--test-per-class", "5",
            "--epochs", "1", "--refit-epochs", "1", "--plan", "widen(conv1, 32)", "--scratch-learning-rate", "1e30", "--out", dir.Path);

        Assert.True(run.ExitCode == 4, run.ToString());
        var output = run.StandardOutput;
        Assert.Contains("| child from scratch | 2 | diverged in epoch ", output);
        Assert.Contains("| child from scratch | 2 | diverged (seed 1) |", output);
        Assert.Contains("Diverged: seed 1: child from scratch", output);
        Assert.Contains("Seed 1, child from scratch: ", run.StandardError);
        Assert.DoesNotContain("   at ", run.StandardError);
        Assert.DoesNotContain("Unhandled exception", run.StandardError);
        // The other arms ran to the end, and the deliverables were written.
        Assert.Contains("Morph exact: yes", output);
        foreach (var file in new[] { "parent.zip", "child.zip", "accuracy.png", "results.json" })
            Assert.True(File.Exists(Path.Combine(dir.Path, file)), file);

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        var seed = results.RootElement.GetProperty("seeds")[0];
        Assert.False(seed.GetProperty("parent").GetProperty("diverged").GetBoolean());
        Assert.False(seed.GetProperty("refit").GetProperty("diverged").GetBoolean());
        var scratch = seed.GetProperty("scratch");
        Assert.True(scratch.GetProperty("diverged").GetBoolean());
        Assert.InRange(scratch.GetProperty("divergence").GetProperty("epoch").GetInt32(), 1, 2);
        var summary = results.RootElement.GetProperty("summary");
        Assert.Equal(JsonValueKind.Null, summary.GetProperty("scratchAccuracy").ValueKind);
        Assert.Equal(["seed 1: child from scratch"], summary.GetProperty("divergedArms").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public void AnImageThatCannotBeDecodedExitsWithCodeOneNamingTheFile()
    {
        using var dir = new TempDirectory();
        foreach (var split in new[] { FashionMnistSubset.TrainFolder, FashionMnistSubset.TestFolder })
        {
            foreach (var row in ExampleSmoke.SubsetRows(split, perClass: 1).Take(2))
            {
                Directory.CreateDirectory(dir.File($"images/{split}/{row.Label}"));
                File.Copy(row.ImagePath, dir.File($"images/{split}/{row.Label}/{System.IO.Path.GetFileName(row.ImagePath)}"));
            }
        }
        var bad = dir.File($"images/{FashionMnistSubset.TrainFolder}/{ExampleSmoke.SubsetRows(FashionMnistSubset.TrainFolder, perClass: 1)[0].Label}/broken.png");
        File.WriteAllText(bad, "not a PNG");

        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--images", dir.File("images"),
            "--epochs", "1", "--refit-epochs", "1", "--plan", "widen(conv1, 32)", "--out", dir.File("out"));

        ExampleSmoke.AssertCleanFailure(run, 1, $"Cannot read image '{bad}': ML.NET's image loader cannot decode it");
    }

    [Fact]
    public void HelpListsTheExitCodes()
    {
        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--help");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("4  an arm diverged", run.StandardOutput);
        Assert.Contains("2  bad arguments", run.StandardOutput);
    }

    [Fact]
    public void APlanThatDoesNotFitTheParentFailsBeforeTrainingNamingTheLayers()
    {
        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--plan", "widen(conv9, 40)");

        ExampleSmoke.AssertCleanFailure(run, 2, "no layer named 'conv9'. Layers that can be widened: conv1, conv2, dense1.");
        Assert.Empty(run.StandardOutput);
    }

    [Fact]
    public void HoldingOutTrainingImagesNeedsTheIdxFiles()
    {
        var run = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, "--holdout-per-class", "5");

        ExampleSmoke.AssertCleanFailure(run, 2, "--holdout-per-class needs --data (the IDX files).");
    }
}
