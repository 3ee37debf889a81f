// The growth search: determinism under a trial budget, exact inheritance at every growth step, budgets, limits, failures, cancellation.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Engine.Tests.Training;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Search;

[Collection(nameof(SerialTorchTests))]
public class GrowthSearchTests
{
    private static readonly NetworkDescription Start = NetworkDescription.Parse("input(1,10,10) conv(4,3) bn relu maxpool(2) flatten dense(8) relu dense(4)");
    private static readonly InMemoryTrainingSet Train = SyntheticData.Squares(96, 4, 10, seed: 1);
    private static readonly InMemoryTrainingSet Validation = SyntheticData.Squares(32, 4, 10, seed: 2);

    private static GrowthSearchSettings Settings(int seed = 5) => new()
    {
        Recipe = new TrainingRecipe { BatchSize = 32, LearningRate = 0.05, Seed = seed },
        InitialEpochs = 1,
        ChildrenPerRound = 3,
        EpochsPerTrial = 1,
        MaxTrials = 6,
        FinalEpochs = 1,
        Seed = seed,
    };

    private static GrowthSearchResult Search(GrowthSearchSettings settings, GrowthSearchHooks? hooks = null, ITrialRunner? runner = null) =>
        new GrowthSearch(settings).Run(Start, NetworkWeights.Initialize(Start, 1), Train, Validation, hooks, runner);

    [Fact]
    public void SameSeedGivesTheSameLineageAndBitIdenticalWeights()
    {
        var first = Search(Settings());
        var second = Search(Settings());

        Assert.Equal(2, first.Rounds);
        Assert.Equal(6, first.ChildTrials);
        Assert.Equal(first.Network.ToString(), second.Network.ToString());
        Assert.Equal(Strip(first.Lineage), Strip(second.Lineage));
        Assert.Equal(first.Macs, second.Macs);
        foreach (var key in first.Weights.Keys)
            Assert.True(first.Weights[key].Values.SequenceEqual(second.Weights[key].Values), $"{key} differs between two runs with the same seed");

        var other = Search(Settings(seed: 6));
        Assert.NotEqual(Strip(first.Lineage).Select(t => t.Plan), Strip(other.Lineage).Select(t => t.Plan));
    }

    // Wall times differ between runs; everything else must not.
    private static List<TrialRecord> Strip(SearchLineage lineage) => [.. lineage.Trials.Select(t => t with { Seconds = 0, CumulativeSeconds = 0 })];

    [Fact]
    public void TheLineageIsATreeOfSelectedIncumbentsAndAccountsForEveryMac()
    {
        var records = new List<TrialRecord>();
        var lines = new List<string>();
        var result = Search(Settings(), new GrowthSearchHooks { TrialCompleted = records.Add, Log = lines.Add });
        var trials = result.Lineage.Trials;

        Assert.Equal(records, trials);
        Assert.Equal(TrialKind.Start, trials[0].Kind);
        Assert.Equal(TrialKind.Final, trials[^1].Kind);
        Assert.Equal(result.Network.ToString(), trials[^1].Network);
        var selected = trials.Where(t => t.Status == TrialStatus.Selected).Select(t => t.Id).ToHashSet();
        Assert.All(trials.Skip(1), t => Assert.Contains(t.ParentId!.Value, selected)); // every trial starts from a selected one
        Assert.All(trials.Where(t => t.Kind == TrialKind.Child), t => Assert.False(string.IsNullOrEmpty(t.Plan)));
        // Cumulative MACs only grow, and the entries' own MACs add up to the search's total.
        Assert.True(trials.Zip(trials.Skip(1)).All(p => p.Second.CumulativeMacs >= p.First.CumulativeMacs));
        Assert.Equal(result.Macs, trials[^1].CumulativeMacs);
        Assert.Equal(result.Macs, trials.Sum(t => t.Macs));
        long oneEpoch = Start.TrainingMacsPerImage * Train.Count + Start.ForwardMacs * Validation.Count;
        Assert.Equal(oneEpoch, trials[0].Macs); // the initial epoch: training plus validation, nothing else
        Assert.Contains(lines, l => l.StartsWith("Trial #1 ", StringComparison.Ordinal));

        var copy = SearchLineage.FromJson(result.Lineage.ToJson());
        Assert.Equal(trials, copy.Trials);
        var tree = result.Lineage.ToTree();
        Assert.StartsWith("*#0 r0 start", tree, StringComparison.Ordinal);
        Assert.Contains("(final training)", tree, StringComparison.Ordinal);
    }

    [Fact]
    public void AMacBudgetIsNeverExceededAndTheRestTrainsTheWinner()
    {
        long oneEpoch = Start.TrainingMacsPerImage * Train.Count + Start.ForwardMacs * Validation.Count;
        long budget = 20 * oneEpoch;
        var result = Search(Settings() with { MaxTrials = null, FinalEpochs = null, MacBudget = budget });

        Assert.True(result.Macs <= budget, $"spent {result.Macs} > budget {budget}");
        Assert.True(result.Rounds >= 1);
        var final = result.Lineage.Trials[^1];
        Assert.Equal(TrialKind.Final, final.Kind);
        long finalEpoch = final.Macs / final.Epochs;
        Assert.True(budget - result.Macs < finalEpoch, "the final training must use what is left of the budget");
        Assert.Contains("MacBudget", result.StopReason, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryChildStartsWithItsParentsFunction()
    {
        // The growth steps themselves, on random networks: the weights each child's trial starts from compute the
        // incumbent's logits (the morphs are exact), unless inheritance is off.
        foreach (int seed in new[] { 11, 12, 13, 14 })
        {
            var network = RandomNetworks.Cnn(seed);
            var weights = RandomNetworks.Weights(network, seed);
            var data = SyntheticData.Squares(48, (int)network.Output.Size, network.Input.Height, seed, network.Input.Channels);
            foreach (bool inherit in new[] { true, false })
            {
                var runner = new RecordingRunner(data, data);
                var settings = Settings(seed) with { InitialEpochs = 0, MaxTrials = 4, ChildrenPerRound = 4, FinalEpochs = 0, InheritWeights = inherit, MaxMorphsPerChild = 3 };
                new GrowthSearch(settings).Run(network, weights, data, data, runner: runner);

                var children = runner.Requests.Skip(1).ToList(); // [0] is the incumbent's own trial
                Assert.NotEmpty(children);
                foreach (var child in children)
                {
                    var report = MorphVerifier.Verify(network, weights, child.Network, child.Weights, randomInputs: 16, seed: seed);
                    if (inherit)
                        Assert.True(report.MaxRelError <= Preservation.Float32Chain, $"seed {seed}: child #{child.Id} rel error {report.MaxRelError:E2} on {network}");
                    else
                        Assert.True(report.MaxRelError > 1e-2, $"seed {seed}: child #{child.Id} with inheritance off still computes its parent's function");
                }
            }
        }
    }

    [Fact]
    public void ABudgetTooSmallForOneRoundReturnsTheStartingNetworkWithAWarning()
    {
        long oneEpoch = Start.TrainingMacsPerImage * Train.Count + Start.ForwardMacs * Validation.Count;
        var warnings = new List<string>();
        var result = Search(Settings() with { MaxTrials = null, FinalEpochs = null, MacBudget = 3 * oneEpoch, FinalTrainingFraction = 0 },
            new GrowthSearchHooks { Warning = warnings.Add });

        Assert.Equal(0, result.Rounds);
        Assert.Equal(Start.ToString(), result.Network.ToString());
        var warning = Assert.Single(warnings);
        Assert.Contains("the next round needs", warning, StringComparison.Ordinal);
        Assert.Contains("starting network", warning, StringComparison.Ordinal);
        Assert.True(result.Macs <= 3 * oneEpoch);
    }

    [Fact]
    public void CostLimitsThatForbidEveryMorphAreAClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => Search(Settings() with { MaxParameters = Start.TrainableParameterCount }));
        Assert.Contains("MaxParameters", e.Message, StringComparison.Ordinal);
        Assert.Contains("cannot make any child", e.Message, StringComparison.Ordinal);

        var tooBig = Assert.Throws<ArgumentException>(() => Search(Settings() with { MaxMacsPerImage = Start.ForwardMacs - 1 }));
        Assert.Contains("MaxMacsPerImage", tooBig.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new GrowthSearch(Settings() with { MaxTrials = null }));
    }

    [Fact]
    public void ALimitIsRespectedByEveryChild()
    {
        long limit = Start.TrainableParameterCount * 2;
        var result = Search(Settings() with { MaxParameters = limit, MaxTrials = 9 });
        Assert.All(result.Lineage.Trials, t => Assert.True(t.Parameters <= limit, $"#{t.Id} has {t.Parameters} parameters"));
    }

    [Fact]
    public void ADivergingChildIsDiscardedWithALogLine()
    {
        var lines = new List<string>();
        var runner = new RecordingRunner(Train, Validation) { FailTrial = 3 };
        var result = Search(Settings(), new GrowthSearchHooks { Log = lines.Add }, runner);

        var failed = Assert.Single(result.Lineage.Trials, t => t.Id == 3);
        Assert.Equal(TrialStatus.Diverged, failed.Status);
        Assert.Null(failed.ValidationAccuracy);
        Assert.Contains(lines, l => l.Contains("#3", StringComparison.Ordinal) && l.Contains("discarded", StringComparison.Ordinal));
        Assert.Equal(2, result.Rounds); // the search went on
    }

    [Fact]
    public void CancellationThrowsAndReturnsNothing()
    {
        using var cancel = new CancellationTokenSource();
        int trials = 0;
        var hooks = new GrowthSearchHooks
        {
            CancellationToken = cancel.Token,
            TrialCompleted = _ =>
            {
                if (++trials == 3)
                    cancel.Cancel();
            },
        };
        Assert.ThrowsAny<OperationCanceledException>(() => Search(Settings(), hooks));
        Assert.InRange(trials, 3, 5); // the round's recorded trials, then nothing more
    }

    [Fact]
    public void ShrinkAndPerturbMovesTheInheritedWeights()
    {
        var runner = new RecordingRunner(Train, Validation);
        Search(Settings() with { ShrinkAndPerturb = (0.5, 0.1), MaxTrials = 3, FinalEpochs = 0 }, runner: runner);
        var incumbent = runner.Requests[1]; // [0] = initial training; [1] = the round's incumbent
        var child = runner.Requests[2];
        var report = MorphVerifier.Verify(incumbent.Network, incumbent.Weights, child.Network, child.Weights, randomInputs: 16);
        Assert.True(report.MaxRelError > 1e-2, "shrink-and-perturb left the child exact");
    }

    [Fact]
    public void EverySamplerKindProducesExactChildrenOfTheDefaultNetwork()
    {
        var network = NetworkDescription.Parse("input(1,12,12) conv(4,3) bn relu maxpool(2) conv(6,3) relu flatten dense(8) relu dense(3)");
        var weights = NetworkWeights.Initialize(network, 2);
        foreach (var kind in Enum.GetValues<SearchMorph>())
        {
            var random = new Random(1);
            int applied = 0;
            for (int i = 0; i < 30 && applied < 3; i++)
            {
                if (MorphSampler.Propose(kind, network, random) is not { } step)
                    continue;
                MorphOutcome outcome;
                try
                {
                    outcome = step.Apply(network, weights, new MorphContext(i));
                }
                catch (ArgumentException)
                {
                    continue;
                }
                applied++;
                var report = MorphVerifier.Verify(network, weights, outcome.Network, outcome.Weights, randomInputs: 8, seed: i);
                Assert.True(report.MaxRelError <= Preservation.Float32Step, $"{step}: rel error {report.MaxRelError:E2}");
            }
            Assert.True(applied > 0, $"{kind} never proposed an applicable step");
        }
    }

    [Fact]
    public void TrialsRunAtTheTrialLearningRateAndTheRestAtTheRecipes()
    {
        var runner = new RecordingRunner(Train, Validation);
        Search(Settings() with { TrialLearningRate = 0.01, MaxTrials = 3 }, runner: runner);
        Assert.Equal(0.05, runner.Requests[0].Recipe.LearningRate);  // initial training
        Assert.All(runner.Requests.Skip(1).SkipLast(1), r => Assert.Equal(0.01, r.Recipe.LearningRate));
        Assert.Equal(0.05, runner.Requests[^1].Recipe.LearningRate); // final training
        Assert.Throws<ArgumentException>(() => new GrowthSearch(Settings() with { TrialLearningRate = 0 }));
    }

    /// <summary>Runs trials locally and records the requests; can fail one trial as if it diverged.</summary>
    private sealed class RecordingRunner(ITrainingSet train, ITrainingSet validation) : ITrialRunner
    {
        private readonly LocalTrialRunner _local = new(train, validation);

        public List<TrialRequest> Requests { get; } = [];

        public int? FailTrial { get; init; }

        public IReadOnlyList<TrialResult> Run(IReadOnlyList<TrialRequest> trials, CancellationToken cancellationToken)
        {
            Requests.AddRange(trials);
            return [.. _local.Run(trials, cancellationToken).Select(r => r.Id == FailTrial ? r with { Weights = null, Failure = "loss is NaN (injected)" } : r)];
        }
    }
}
