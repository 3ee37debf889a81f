// Smoke tests of examples/GrowthSearch: a tiny trial-budgeted search on the committed subset writes a model with its lineage, results.json and the plot.
using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class GrowthSearchSmokeTests
{
    [Fact]
    public void SearchesWithinATrialBudgetAndWritesModelResultsAndPlot()
    {
        using var dir = new TempDirectory();

        // One round of two children (deterministic: a trial budget, not a time budget).
        var run = ExampleProcess.Run("GrowthSearch", ExampleSmoke.Timeout, "--max-trials", "2", "--children", "2", "--initial-epochs", "1",
            "--train-per-class", "20", "--test-per-class", "10", "--out", dir.Path);

        Assert.True(run.ExitCode == 0, run.ToString());
        var output = run.StandardOutput;
        Assert.Contains("200 training and 100 test PNG images", output);
        Assert.Contains("*#0 r0 start: val ", output);                    // the lineage tree
        Assert.Contains("(final training): val ", output);
        Assert.Contains("MACs per image: ", output);                       // the final network's summary
        Assert.Contains("Search: 1 round(s), 2 child trial(s)", output);
        Assert.Contains("a monitor only", output);
        foreach (var file in new[] { "model.zip", "results.json", "accuracy-vs-compute.png" })
            Assert.True(File.Exists(Path.Combine(dir.Path, file)), file);

        using var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "results.json")));
        var root = results.RootElement;
        Assert.Equal(2, root.GetProperty("settings").GetProperty("maxTrials").GetInt32());
        var trials = root.GetProperty("lineage").GetProperty("trials").EnumerateArray().ToList();
        Assert.Equal(2, trials.Count(t => t.GetProperty("kind").GetString() == "child" && t.GetProperty("status").GetString() != "notExact"));
        Assert.Single(trials, t => t.GetProperty("kind").GetString() == "start");
        Assert.Single(trials, t => t.GetProperty("kind").GetString() == "final");
        var totals = root.GetProperty("totals");
        Assert.Equal(2, totals.GetProperty("childTrials").GetInt32());
        Assert.Equal(1, totals.GetProperty("rounds").GetInt32());
        Assert.Equal(trials.Max(t => t.GetProperty("cumulativeMacs").GetInt64()), totals.GetProperty("macs").GetInt64());
        Assert.InRange(totals.GetProperty("testAccuracy").GetDouble(), 0, 1);
        // The incumbent's path runs from the start (trial 0) to the final training.
        var path = root.GetProperty("incumbentPath").EnumerateArray().Select(id => id.GetInt32()).ToList();
        Assert.Equal(0, path[0]);
        Assert.Equal(trials.Single(t => t.GetProperty("kind").GetString() == "final").GetProperty("id").GetInt32(), path[^1]);

        // A PNG (signature, then the IHDR chunk's width and height) of two readable panels.
        var png = File.ReadAllBytes(Path.Combine(dir.Path, "accuracy-vs-compute.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A], png.Take(8));
        Assert.InRange(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)), 1000, 4000);
        Assert.InRange(BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)), 300, 2000);

        // The saved model scores with stock ML.NET and carries the same lineage.
        var (model, _) = ExampleSmoke.LoadAndScore(Path.Combine(dir.Path, "model.zip"), ExampleSmoke.SubsetRows(FashionMnistSubset.TestFolder, perClass: 2));
        var lineage = new MLContext().Morphism().FindClassifier(model).Model.Lineage;
        Assert.NotNull(lineage);
        Assert.Equal(trials.Select(t => t.GetProperty("id").GetInt32()), lineage.Trials.Select(t => t.Id));
    }

    [Fact]
    public void ABadBudgetExitsWithCodeTwoNamingTheOption()
    {
        var run = ExampleProcess.Run("GrowthSearch", ExampleSmoke.Timeout, "--budget", "soon");

        ExampleSmoke.AssertCleanFailure(run, 2, "Option '--budget' needs a positive duration like 00:02:00 or 90s, got 'soon'.");
        Assert.Empty(run.StandardOutput);
    }

    [Fact]
    public void HelpListsTheExitCodes()
    {
        var run = ExampleProcess.Run("GrowthSearch", ExampleSmoke.Timeout, "--help");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("--mac-budget", run.StandardOutput);
        Assert.Contains("2  bad arguments", run.StandardOutput);
        Assert.Contains("5  an unexpected error", run.StandardOutput);
    }
}
