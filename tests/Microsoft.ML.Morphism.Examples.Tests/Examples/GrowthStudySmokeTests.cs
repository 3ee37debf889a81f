// Smoke tests of examples/GrowthStudy: a tiny study writes a seed file whose arms stay within the budget, and --report summarises it.
using System.Text.Json;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Examples;

[Collection(nameof(ExamplesCollection))]
public class GrowthStudySmokeTests
{
    [Fact]
    public void ATinyStudyKeepsEveryArmWithinTheBudgetAndReportsTheTargets()
    {
        using var dir = new TempDirectory();
        var run = ExampleProcess.Run("GrowthStudy", ExampleSmoke.Timeout, "--train-images", "300", "--validation-images", "100", "--test-images", "200",
            "--budget-epochs", "12", "--initial-epochs", "1", "--children", "2", "--arms", "A,C,D,E-grown,E-scratch",
            "--growth-schedule", "epoch 2: widen(conv1, 24)", "--out", dir.Path);
        Assert.True(run.ExitCode == 0, run.ToString());

        using var seed = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "seed-1-plain.json")));
        long budget = seed.RootElement.GetProperty("Budget").GetInt64();
        var arms = seed.RootElement.GetProperty("Arms").EnumerateArray().ToList();
        Assert.Equal(["A", "C", "D", "E-grown", "E-scratch"], arms.Select(a => a.GetProperty("Arm").GetString()));
        Assert.All(arms, a => Assert.InRange(a.GetProperty("Macs").GetInt64(), budget / 2, budget)); // equal MACs, never over B
        Assert.All(arms, a => Assert.InRange(a.GetProperty("TestAccuracy").GetDouble(), 0, 1));
        Assert.Equal(arms[1].GetProperty("Network").GetString(), arms[2].GetProperty("Network").GetString()); // D = C's architecture

        var report = ExampleProcess.Run("GrowthStudy", ExampleSmoke.Timeout, "--report", dir.Path);
        Assert.True(report.ExitCode == 0, report.ToString());
        var summary = File.ReadAllText(Path.Combine(dir.Path, "summary.md"));
        Assert.Contains("| C | ", summary);
        Assert.Contains("Target 1 (inheritance gap closes", summary);
        Assert.Contains("Target 1b (growth inside one schedule", summary);
        Assert.True(new FileInfo(Path.Combine(dir.Path, "accuracy-vs-macs.png")).Length > 10_000);
    }

    [Fact]
    public void DWithoutCIsABadArgument()
    {
        var run = ExampleProcess.Run("GrowthStudy", ExampleSmoke.Timeout, "--arms", "D");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("--arms", run.StandardError);
    }
}
