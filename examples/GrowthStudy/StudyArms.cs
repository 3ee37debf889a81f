// Runs the arms of one seed at one MAC budget: A, A at B/2, random search (B), growth search (C), C's architecture from scratch (D).
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Examples.GrowthStudy;

internal sealed class StudyArms(StudySettings settings, StudyData data, int seed, TextWriter log)
{
    /// <summary>The default CNN for 28×28 grey images (the trainer's default architecture) with its 10-class output.</summary>
    public static readonly NetworkDescription DefaultNetwork =
        NetworkDescription.Parse(MorphableImageClassifierTrainer.DefaultArchitecture(28, 28) + " dense(10)", TensorShape.Image(1, 28, 28));

    /// <summary>The training recipe of every arm: the trainer's defaults (SGD, Nesterov 0.9, peak 0.05, cosine, 1 warm-up epoch, batch 64).</summary>
    private TrainingRecipe Recipe => new() { LearningRate = MorphableImageClassifierTrainer.Defaults.LearningRate, BatchSize = 64, Seed = seed };

    /// <summary>One epoch of <paramref name="network"/>: training on the training images plus a validation pass.</summary>
    public long EpochCost(NetworkDescription network) =>
        network.EpochMacs(data.Train.Count, data.Validation.Count);

    public long Budget => (long)(settings.BudgetEpochs * EpochCost(DefaultNetwork));

    /// <summary>Trains <paramref name="network"/> from scratch on one cosine schedule sized to <paramref name="budget"/>.</summary>
    public ArmResult FromScratch(string arm, NetworkDescription network, long budget)
    {
        int epochs = (int)(budget / EpochCost(network));
        log.WriteLine($"[seed {seed}] {arm}: {network.TrainableParameterCount:N0} parameters, {network.ForwardMacs:N0} MACs/image, {epochs} epochs for {budget:0.00e+00} MACs");
        var result = new NetworkTrainer(Recipe with { MaxEpoch = epochs }).Train(network, NetworkWeights.Initialize(network, seed), data.Train, data.Validation,
            new TrainingHooks { SelectBestValidationEpoch = false, MonitorSet = data.Test });
        var last = result.History[^1];
        var curve = result.History.Select(m => new CurvePoint(m.CumulativeMacs, m.CumulativeSeconds, m.ValidationAccuracy, m.MonitorAccuracy)).ToList();
        log.WriteLine($"[seed {seed}] {arm}: validation {last.ValidationAccuracy:P2}, test {last.MonitorAccuracy:P2} (monitor), {last.CumulativeMacs:0.00e+00} MACs, {last.CumulativeSeconds:F0} s");
        return new ArmResult(arm, network.ToString(), network.TrainableParameterCount, network.ForwardMacs, last.CumulativeMacs, last.CumulativeSeconds, epochs,
            last.ValidationAccuracy ?? double.NaN, last.MonitorAccuracy ?? double.NaN, null, null, null, curve, null);
    }

    /// <summary>The growth search (inherit = true, arm C) or random search over the same morph space (inherit = false, arm B).</summary>
    public (ArmResult Result, NetworkDescription Final) Search(string arm, bool inherit)
    {
        var histories = new Dictionary<int, IReadOnlyList<EpochMetrics>>();
        var runner = new LocalTrialRunner(data.Train, data.Validation) { MonitorSet = data.Test, TrialTrained = (t, h) => histories[t.Id] = h };
        var search = new GrowthSearch(new GrowthSearchSettings
        {
            Recipe = Recipe,
            InitialEpochs = settings.InitialEpochs,
            ChildrenPerRound = settings.Children,
            EpochsPerTrial = settings.EpochsPerTrial,
            MaxMorphsPerChild = settings.MaxMorphs,
            MacBudget = Budget,
            FinalTrainingFraction = settings.FinalFraction,
            TrialLearningRate = settings.TrialLearningRate,
            InheritWeights = inherit,
            ShrinkAndPerturb = inherit ? settings.ShrinkAndPerturb : null,
            Seed = seed,
        });
        var result = search.Run(DefaultNetwork, NetworkWeights.Initialize(DefaultNetwork, seed), data.Train, data.Validation, new GrowthSearchHooks
        {
            Log = line => log.WriteLine($"[seed {seed}] {arm}: {line}"),
            Warning = line => log.WriteLine($"[seed {seed}] {arm}: WARNING {line}"),
        }, runner);

        // The curve follows the model the search would return at each point: the start's epochs, each round's
        // selected trial at the round's end, then the final training's epochs.
        var curve = new List<CurvePoint>();
        var trials = result.Lineage.Trials;
        void Epochs(TrialRecord record)
        {
            if (!histories.TryGetValue(record.Id, out var history))
                return;
            long macsBefore = record.CumulativeMacs - record.Macs;
            double secondsBefore = record.CumulativeSeconds - record.Seconds;
            curve.AddRange(history.Select(m => new CurvePoint(macsBefore + m.CumulativeMacs, secondsBefore + m.CumulativeSeconds, m.ValidationAccuracy, m.MonitorAccuracy)));
        }
        Epochs(trials[0]);
        foreach (var round in trials.Where(t => t.Kind is TrialKind.Child or TrialKind.Incumbent).GroupBy(t => t.Round))
        {
            var end = round.MaxBy(t => t.CumulativeMacs)!;
            if (round.FirstOrDefault(t => t.Status == TrialStatus.Selected) is { } selected && histories.TryGetValue(selected.Id, out var h))
                curve.Add(new CurvePoint(end.CumulativeMacs, end.CumulativeSeconds, h[^1].ValidationAccuracy, h[^1].MonitorAccuracy));
        }
        if (trials[^1].Kind == TrialKind.Final)
            Epochs(trials[^1]);
        var last = curve[^1];
        log.WriteLine($"[seed {seed}] {arm}: {result.Rounds} rounds, {result.ChildTrials} child trials; final {result.Network}; validation {last.ValidationAccuracy:P2}, test {last.TestAccuracy:P2} (monitor), {result.Macs:0.00e+00} MACs, {result.Seconds:F0} s");
        return (new ArmResult(arm, result.Network.ToString(), result.Network.TrainableParameterCount, result.Network.ForwardMacs, result.Macs, result.Seconds,
            trials.Sum(t => t.Epochs), last.ValidationAccuracy ?? double.NaN, last.TestAccuracy ?? double.NaN, result.Rounds, result.ChildTrials, result.StopReason,
            curve, result.Lineage.ToTree()), result.Network);
    }

    /// <summary>
    /// E-grown: the default CNN grown inside one schedule (<see cref="StudySettings.GrowthSchedule"/>), its epochs sized so the
    /// whole run (each epoch at the network's cost of that epoch, growth verification included) fits in the budget.
    /// Returns the grown network too, for E-scratch.
    /// </summary>
    public (ArmResult Result, NetworkDescription Final) GrownInOneSchedule()
    {
        var schedule = GrowthSchedule.Parse(settings.GrowthSchedule);
        var network = DefaultNetwork;
        long spent = 0;
        int epoch = 0;
        var points = schedule.Points.ToDictionary(p => p.Epoch, p => p.Plan);
        var weights = NetworkWeights.Initialize(network, seed);
        // Walk the schedule on descriptions only (a shape-only apply of each plan) to size the run.
        var current = network;
        while (spent + EpochCost(current) <= Budget)
        {
            spent += EpochCost(current);
            epoch++;
            if (points.TryGetValue(epoch, out var plan))
                current = plan.Apply(current, NetworkWeights.Initialize(current, seed)).Network;
        }
        log.WriteLine($"[seed {seed}] E-grown: {settings.GrowthSchedule}; growth ramp {settings.GrowthRamp} epoch(s); {epoch} epochs for {Budget:0.00e+00} MACs");
        var result = new NetworkTrainer(Recipe with { MaxEpoch = epoch, GrowthRampEpochs = settings.GrowthRamp }).Train(network, weights, data.Train, data.Validation,
            new TrainingHooks { SelectBestValidationEpoch = false, MonitorSet = data.Test }, schedule);
        var last = result.History[^1];
        var final = result.Network!;
        var curve = result.History.Select(m => new CurvePoint(m.CumulativeMacs, m.CumulativeSeconds, m.ValidationAccuracy, m.MonitorAccuracy)).ToList();
        log.WriteLine($"[seed {seed}] E-grown: {final}; validation {last.ValidationAccuracy:P2}, test {last.MonitorAccuracy:P2} (monitor), {last.CumulativeMacs:0.00e+00} MACs, {last.CumulativeSeconds:F0} s; " +
                      string.Join("; ", result.Growth.Select(g => $"growth after epoch {g.Epoch}: max rel error {g.MaxRelError:0.0e+00}")));
        return (new ArmResult("E-grown", final.ToString(), final.TrainableParameterCount, final.ForwardMacs, last.CumulativeMacs, last.CumulativeSeconds, epoch,
            last.ValidationAccuracy ?? double.NaN, last.MonitorAccuracy ?? double.NaN, null, null, null, curve, null), final);
    }

    /// <summary>The network the growth schedule ends with, from the descriptions alone (E-scratch when E-grown diverged).</summary>
    public NetworkDescription ScheduledNetwork() =>
        GrowthSchedule.Parse(settings.GrowthSchedule).Points.Aggregate(DefaultNetwork,
            (network, point) => point.Plan.Apply(network, NetworkWeights.Initialize(network, seed)).Network);
}
