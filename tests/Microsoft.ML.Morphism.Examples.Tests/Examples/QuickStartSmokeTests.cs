// Smoke test of examples/QuickStart: the README's code runs as a program, tiny, and writes a child.zip that stock ML.NET loads.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class QuickStartSmokeTests
{
    [Fact]
    public void RunsTheReadmeCodeAndWritesAChildThatStockMlNetLoads()
    {
        using var dir = new TempDirectory();

        var run = ExampleProcess.Run("QuickStart", ExampleSmoke.Timeout,
            "--epochs", "1", "--refit-epochs", "1", "--train-per-class", "20", "--test-per-class", "5", "--out", dir.Path);

        Assert.True(run.ExitCode == 0, run.ToString());
        var output = run.StandardOutput;
        Assert.Contains("(200 training, 50 test images)", output);
        Assert.Contains("steps: deepen(conv2, width=32) widen(conv1, 32) kernel(conv2, 5)", output);
        Assert.Contains("* conv2_d1 (conv 1×1)", output);
        // The morph preserves the function: the morph-only child is exactly as accurate as the parent, and agrees on every clear input.
        Assert.Equal(ExampleSmoke.Percent(output, "parent"), ExampleSmoke.Percent(output, "child right after the morph"));
        var (agreeing, inputs) = ExampleSmoke.Agreement(output);
        Assert.Equal(inputs, agreeing);
        // What was loaded back in the example is what was saved.
        Assert.Equal(ExampleSmoke.Percent(output, "child after 1 refit epoch(s)"), ExampleSmoke.Percent(output, "test accuracy"));

        var (child, _) = ExampleSmoke.LoadAndScore(Path.Combine(dir.Path, "child.zip"), ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 2));
        Assert.Equal("deepen(conv2, width=32) widen(conv1, 32) kernel(conv2, 5)",
            string.Join(" ", new MLContext().Morphism().FindClassifier(child).MorphHistory));
    }

    [Fact]
    public void BadOptionExitsWithCodeTwoAndSaysWhy()
    {
        var run = ExampleProcess.Run("QuickStart", ExampleSmoke.Timeout, "--epochs", "zero");

        ExampleSmoke.AssertCleanFailure(run, 2, "Option '--epochs' needs a whole number, got 'zero'.");
    }
}
