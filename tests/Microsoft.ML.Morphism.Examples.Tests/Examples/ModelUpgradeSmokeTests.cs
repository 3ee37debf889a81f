// Smoke tests of examples/ModelUpgrade: it makes a demo parent, upgrades it (morph only and with refit), and fails cleanly on bad input.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Morphism.Tests.Samples;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class ModelUpgradeSmokeTests(DemoParentFixture parent) : IClassFixture<DemoParentFixture>
{
    private static readonly string RefitFolder = Path.Combine(CommittedSubset.Folder, FashionMnistSubset.TrainFolder);

    [Fact]
    public void MakeDemoParentWritesAModelThatStockMlNetLoads()
    {
        Assert.Contains($"saved it to {parent.Path}", parent.Run.StandardOutput);
        ExampleSmoke.LoadAndScore(parent.Path, ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1));
    }

    [Fact]
    public void MorphOnlyUpgradeScoresLikeTheInputAndLeavesItUntouched()
    {
        using var dir = new TempDirectory();
        var inputBytes = File.ReadAllBytes(parent.Path);
        var output = dir.File("child.zip");

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout,
            "--model", parent.Path, "--plan", "deepen(conv2) widen(conv1, 24) kernel(conv2, 5)", "--out", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Before:", run.StandardOutput);
        Assert.Contains("* conv2_d1 (conv 1×1)", run.StandardOutput);
        Assert.Contains("max abs logit error:", run.StandardOutput);
        Assert.Contains("parameters: ", run.StandardOutput);
        Assert.Contains("Refit: none", run.StandardOutput);
        var (agreeing, inputs) = ExampleSmoke.Agreement(run.StandardOutput);
        Assert.Equal(inputs, agreeing);
        Assert.Equal(inputBytes, File.ReadAllBytes(parent.Path));
        var rows = ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 2);
        var (_, parentScores) = ExampleSmoke.LoadAndScore(parent.Path, rows);
        var (_, childScores) = ExampleSmoke.LoadAndScore(output, rows);
        Assert.True(parentScores.Zip(childScores).Max(row => row.First.Zip(row.Second).Max(s => Math.Abs(s.First - s.Second))) <= 1e-4);
    }

    [Fact]
    public void UpgradeWithRefitDataRefitsAndRecordsThePlan()
    {
        using var dir = new TempDirectory();
        var output = dir.File("child.zip");

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout,
            "--model", parent.Path, "--plan", "widen(conv2, 40) bn(conv1)", "--out", output,
            "--refit-data", RefitFolder, "--refit-epochs", "1", "--refit-per-class", "10");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Refit data: 100 images of 10 classes", run.StandardOutput);
        Assert.Contains("Refit: 1 epoch(s)", run.StandardOutput);
        var (child, _) = ExampleSmoke.LoadAndScore(output, ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1));
        var classifier = new MLContext().Morphism().FindClassifier(child);
        Assert.Equal("widen(conv2, 40) bn(conv1)", string.Join(" ", classifier.MorphHistory));
        Assert.Equal([1], classifier.Model.TrainingHistory.Select(e => e.Epoch));
    }

    [Fact]
    public void WithoutOutTheUpgradeIsWrittenUnderArtifactsAndItsFullPathPrinted()
    {
        // ExampleProcess runs the examples in the temp folder, so that is where the default relative path lands.
        var expected = Path.Combine(Path.GetTempPath(), "artifacts", "model-upgrade", "child.zip");
        try
        {
            var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", parent.Path, "--plan", "widen(conv1, 32)");

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains($"Wrote {expected} (", run.StandardOutput);
            ExampleSmoke.LoadAndScore(expected, ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 1));
        }
        finally
        {
            File.Delete(expected);
        }
    }

    [Fact]
    public void MissingModelFileExitsWithCodeOne()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-model-" + Guid.NewGuid().ToString("N") + ".zip");

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", missing, "--plan", "widen(conv1, 32)", "--out", missing + ".out");

        ExampleSmoke.AssertCleanFailure(run, 1, $"Model file '{missing}' not found.");
    }

    [Fact]
    public void DamagedModelFileExitsWithCodeOne()
    {
        using var dir = new TempDirectory();
        var damaged = dir.File("damaged.zip");
        File.WriteAllBytes(damaged, File.ReadAllBytes(parent.Path)[..1000]);

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", damaged, "--plan", "widen(conv1, 32)", "--out", dir.File("out.zip"));

        ExampleSmoke.AssertCleanFailure(run, 1, $"'{damaged}' is not a valid ML.NET model or is damaged");
        Assert.False(File.Exists(dir.File("out.zip")));
    }

    [Fact]
    public void ModelWithoutTheClassifierExitsWithCodeOne()
    {
        using var dir = new TempDirectory();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ExampleSmoke.SubsetRows(FashionMnistSubset.TrainFolder, perClass: 1));
        var stock = dir.File("stock.zip");
        ml.Model.Save(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data), data.Schema, stock);

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", stock, "--plan", "widen(conv1, 32)", "--out", dir.File("out.zip"));

        ExampleSmoke.AssertCleanFailure(run, 1, $"'{stock}' cannot be upgraded: The model contains no MorphableImageClassifierTransformer");
    }

    [Fact]
    public void BadPlanTextExitsWithCodeTwo()
    {
        using var dir = new TempDirectory();

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", parent.Path, "--plan", "widen(conv1 32", "--out", dir.File("out.zip"));

        ExampleSmoke.AssertCleanFailure(run, 2, "Bad --plan: Morph plan text, step 1 'widen(conv1 32': missing ')'.");
        Assert.Contains("Run with --help", run.StandardError);
    }

    [Fact]
    public void PlanNamingAnUnknownLayerExitsWithCodeTwoAndListsTheValidLayers()
    {
        using var dir = new TempDirectory();

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--model", parent.Path, "--plan", "widen(conv9, 32)", "--out", dir.File("out.zip"));

        ExampleSmoke.AssertCleanFailure(run, 2, "no layer named 'conv9'. Layers that can be widened: conv1, conv2, dense1.");
        Assert.Contains("Run with --help", run.StandardError);
        Assert.False(File.Exists(dir.File("out.zip")));
    }

    [Fact]
    public void RefitImagesOfAClassTheModelDoesNotKnowExitWithCodeOne()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.File("refit/Hat"));
        File.Copy(ExampleSmoke.SubsetRows(FashionMnistSubset.TrainFolder, perClass: 1)[0].ImagePath, dir.File("refit/Hat/1.png"));

        var run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout,
            "--model", parent.Path, "--plan", "widen(conv1, 32)", "--out", dir.File("out.zip"), "--refit-data", dir.File("refit"));

        ExampleSmoke.AssertCleanFailure(run, 1, "The refit images have classes the model does not know: Hat.");
    }
}

/// <summary>A small parent made once by <c>ModelUpgrade --make-demo-parent</c> (one epoch on 10 images per class), upgraded by the tests.</summary>
public sealed class DemoParentFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DemoParentFixture()
    {
        Path = _dir.File("parent.zip");
        Run = ExampleProcess.Run("ModelUpgrade", ExampleSmoke.Timeout, "--make-demo-parent", Path, "--epochs", "1", "--train-per-class", "10");
        Assert.True(Run.ExitCode == 0, Run.ToString());
    }

    public string Path { get; }

    internal ExampleRun Run { get; }

    public void Dispose() => _dir.Dispose();
}
