// The growth search: NASH-style hill climbing in which every child inherits its parent's weights through exact morphs.
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Search;

/// <summary>Callbacks and controls of one growth search.</summary>
public sealed class GrowthSearchHooks
{
    /// <summary>One line per trial, per discarded child and per phase.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>Things the user should act on: a budget too small for one round, a search stopped by cost limits.</summary>
    public Action<string>? Warning { get; init; }

    /// <summary>Called with every lineage entry as it is recorded.</summary>
    public Action<TrialRecord>? TrialCompleted { get; init; }

    /// <summary>Stops the search within one batch with <see cref="OperationCanceledException"/>; nothing is returned.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>Called before every batch (an ML.NET host's CheckAlive), or null.</summary>
    public Action? CheckAlive { get; init; }
}

/// <summary>What a growth search found, and what it cost.</summary>
/// <param name="Network">The winner's network.</param>
/// <param name="Weights">The winner's weights after the final training.</param>
/// <param name="Lineage">Every trial, bounded (<see cref="GrowthSearchSettings.MaxLineageEntries"/>).</param>
/// <param name="Macs">Training MACs the whole search spent (see <see cref="GrowthSearchSettings.MacBudget"/> for what counts).</param>
/// <param name="Seconds">Wall time of the whole search.</param>
/// <param name="Rounds">Rounds completed.</param>
/// <param name="ChildTrials">Children trained (discarded ones included).</param>
/// <param name="StopReason">Why the search phase ended, one sentence.</param>
/// <param name="Steps">The morphs that lead from the starting network to the winner, oldest first (as applied).</param>
public sealed record GrowthSearchResult(NetworkDescription Network, NetworkWeights Weights, SearchLineage Lineage, long Macs, double Seconds,
    int Rounds, int ChildTrials, string StopReason, IReadOnlyList<MorphStep> Steps);

/// <summary>
/// Runs the search described by <see cref="GrowthSearchSettings"/>: deterministic given the settings' seed, the
/// data, libtorch's thread count and a MAC or trial budget (same lineage, bit-identical weights). Validation data
/// chooses the incumbents; it must not be the test set.
/// </summary>
public sealed class GrowthSearch
{
    private const int AttemptsPerChild = 40;
    private readonly GrowthSearchSettings _settings;
    private readonly Device _device;

    /// <summary>Creates a search; the settings are validated.</summary>
    public GrowthSearch(GrowthSearchSettings settings, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _device = device ?? CPU;
    }

    /// <summary>
    /// Searches from <paramref name="network"/> with <paramref name="weights"/> (trained, or initial with
    /// <see cref="GrowthSearchSettings.InitialEpochs"/> &gt; 0). Trials run on <paramref name="runner"/> (default: in
    /// this process, on <paramref name="train"/> and <paramref name="validation"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A setting, or cost limits that forbid every morph of the starting network.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="TrainingDivergedException">The starting network's initial training diverged.</exception>
    public GrowthSearchResult Run(NetworkDescription network, NetworkWeights weights, ITrainingSet train, ITrainingSet validation,
        GrowthSearchHooks? hooks = null, ITrialRunner? runner = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        weights.Validate(network);
        if (train.Count == 0 || validation.Count == 0)
            throw new ArgumentException($"The growth search needs training and validation rows (got {train.Count} and {validation.Count}).");
        hooks ??= new GrowthSearchHooks();
        runner ??= new LocalTrialRunner(train, validation, _device, hooks.CheckAlive);
        if (_settings.MaxParameters is { } maxParameters && network.TrainableParameterCount > maxParameters)
            throw new ArgumentException($"The starting network already has {network.TrainableParameterCount:N0} trainable parameters, more than MaxParameters = {maxParameters:N0}.");
        if (_settings.MaxMacsPerImage is { } maxMacs && network.ForwardMacs > maxMacs)
            throw new ArgumentException($"The starting network already needs {network.ForwardMacs:N0} MACs per image, more than MaxMacsPerImage = {maxMacs:N0}.");
        return new SearchRun(_settings, _device, network, weights, train, validation, hooks, runner).Execute();
    }

    /// <summary>One search's state: the incumbent, the lineage so far, and what has been spent.</summary>
    private sealed class SearchRun(GrowthSearchSettings settings, Device device, NetworkDescription startNetwork, NetworkWeights startWeights,
        ITrainingSet train, ITrainingSet validation, GrowthSearchHooks hooks, ITrialRunner runner)
    {
        private readonly List<TrialRecord> _trials = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly WeightTensor _sample = Sample(validation, settings.VerificationInputs, startNetwork.Input);
        private long _spent;
        private int _nextId;
        private int _childTrials;
        private (int Id, NetworkDescription Network, NetworkWeights Weights) _incumbent;
        private ImmutableList<MorphStep> _incumbentSteps = [];

        private sealed record Child(int Id, MorphPlan Plan, NetworkDescription Network, NetworkWeights Weights, long MorphMacs, double MorphSeconds);

        public GrowthSearchResult Execute()
        {
            Start();
            int rounds = 0;
            string stop;
            while (true)
            {
                if (NextRoundBlocked() is { } reason)
                {
                    stop = reason;
                    break;
                }
                var children = MakeChildren(rounds + 1);
                if (children.Count == 0)
                {
                    var why = $"no morph of the incumbent stays within the cost limits ({Limits()}) after {AttemptsPerChild} tries per child";
                    if (rounds == 0)
                        throw new ArgumentException($"The growth search cannot make any child: {why}. Raise the limits or allow more morph kinds.");
                    stop = $"Search stopped after round {rounds}: {why}.";
                    hooks.Warning?.Invoke(stop);
                    break;
                }
                long roundCost = children.Sum(c => TrialCost(c.Network, settings.EpochsPerTrial)) + TrialCost(_incumbent.Network, settings.EpochsPerTrial);
                if (Unaffordable(roundCost) is { } unaffordable)
                {
                    stop = unaffordable;
                    break;
                }
                RunRound(rounds + 1, children);
                rounds++;
            }
            if (rounds == 0)
                hooks.Warning?.Invoke($"{stop} The result is the starting network{(settings.InitialEpochs > 0 ? $" trained {settings.InitialEpochs} epoch(s)" : "")}, trained on with what is left.");
            hooks.Log?.Invoke(stop);
            FinalTraining(rounds + 1);
            var lineage = SearchLineage.Bounded(_trials, settings.MaxLineageEntries);
            return new GrowthSearchResult(_incumbent.Network, _incumbent.Weights, lineage, _spent, _clock.Elapsed.TotalSeconds, rounds, _childTrials, stop, _incumbentSteps);
        }

        private void Start()
        {
            int id = _nextId++;
            var clock = Stopwatch.StartNew();
            if (settings.InitialEpochs > 0)
            {
                var recipe = settings.Recipe with { MaxEpoch = settings.InitialEpochs, Seed = TrialSeed(id), EarlyStoppingPatience = null };
                var result = RunTrials([new TrialRequest(id, startNetwork, startWeights, recipe)])[0];
                if (result.Weights is null)
                    throw new TrainingDivergedException($"The starting network's initial training diverged: {result.Failure}", 0, 0);
                _spent += result.Macs;
                _incumbent = (id, startNetwork, result.Weights);
                Record(new TrialRecord(id, null, 0, TrialKind.Start, "", TrialRecord.Cut(startNetwork.ToString()), startNetwork.TrainableParameterCount,
                    startNetwork.ForwardMacs, settings.InitialEpochs, result.ValidationAccuracy, result.ValidationLoss, result.Macs, _spent,
                    clock.Elapsed.TotalSeconds, _clock.Elapsed.TotalSeconds, TrialStatus.Selected, null));
                return;
            }
            hooks.CancellationToken.ThrowIfCancellationRequested();
            var (loss, accuracy) = new NetworkTrainer(settings.Recipe, device).Evaluate(startNetwork, startWeights, validation);
            long macs = startNetwork.ForwardMacs * validation.Count;
            _spent += macs;
            _incumbent = (id, startNetwork, startWeights);
            Record(new TrialRecord(id, null, 0, TrialKind.Start, "", TrialRecord.Cut(startNetwork.ToString()), startNetwork.TrainableParameterCount,
                startNetwork.ForwardMacs, 0, accuracy, loss, macs, _spent, clock.Elapsed.TotalSeconds, _clock.Elapsed.TotalSeconds, TrialStatus.Selected, null));
        }

        private string? NextRoundBlocked()
        {
            if (settings.MaxTrials is { } maxTrials && _childTrials >= maxTrials)
                return $"Search ended after {_childTrials} child trial(s), the MaxTrials budget.";
            hooks.CancellationToken.ThrowIfCancellationRequested();
            return null;
        }

        private string? Unaffordable(long roundCost)
        {
            if (settings.MacBudget is { } budget)
            {
                long searchShare = (long)(budget * (1 - settings.FinalTrainingFraction));
                if (_spent + roundCost > searchShare)
                    return $"Search ended: the next round needs {roundCost:0.00e+00} MACs, and {_spent:0.00e+00} of the search's share " +
                           $"{searchShare:0.00e+00} ({1 - settings.FinalTrainingFraction:P0} of MacBudget {budget:0.00e+00}) are spent.";
            }
            if (settings.TimeBudget is { } time && _spent > 0)
            {
                double share = time.TotalSeconds * (1 - settings.FinalTrainingFraction);
                double estimate = roundCost * SecondsPerMac();
                if (_clock.Elapsed.TotalSeconds + estimate > share)
                    return string.Format(CultureInfo.InvariantCulture, "Search ended: the next round would take about {0:F0} s, and {1:F0} s of the search's share {2:F0} s of TimeBudget {3} are used.",
                        estimate, _clock.Elapsed.TotalSeconds, share, time);
            }
            return null;
        }

        private double SecondsPerMac() => _spent > 0 ? _clock.Elapsed.TotalSeconds / _spent : 0;

        /// <summary>The training and validation MACs of <paramref name="epochs"/> epochs of a network on this data.</summary>
        private long TrialCost(NetworkDescription network, int epochs) =>
            checked(epochs * network.EpochMacs(train.Count, validation.Count));

        private List<Child> MakeChildren(int round)
        {
            int count = settings.ChildrenPerRound;
            if (settings.MaxTrials is { } maxTrials)
                count = Math.Min(count, maxTrials - _childTrials);
            var children = new List<Child>();
            var plans = new HashSet<string>(StringComparer.Ordinal);
            for (int k = 0; k < count; k++)
            {
                hooks.CancellationToken.ThrowIfCancellationRequested();
                var random = new Random(Mix(settings.Seed, round, k));
                for (int attempt = 0; attempt < AttemptsPerChild; attempt++)
                {
                    if (TryMorph(random, round, k, attempt) is not { } made || !plans.Add(made.Plan.ToString()))
                        continue;
                    children.Add(made);
                    break;
                }
            }
            return children;
        }

        private Child? TryMorph(Random random, int round, int index, int attempt)
        {
            var clock = Stopwatch.StartNew();
            int morphs = 1 + random.Next(settings.MaxMorphsPerChild);
            var (network, weights) = (_incumbent.Network, _incumbent.Weights);
            var outcomes = new List<MorphOutcome>();
            long solverMacs = 0;
            for (int j = 0; j < morphs; j++)
            {
                var kind = settings.AllowedMorphs[random.Next(settings.AllowedMorphs.Count)];
                if (MorphSampler.Propose(kind, network, random) is not { } step)
                    return null;
                MorphOutcome outcome;
                try
                {
                    outcome = step.Apply(network, weights, new MorphContext(Mix(settings.Seed, round, index, attempt, j), _sample));
                }
                catch (ArgumentException)
                {
                    return null; // the step does not apply here (its own checks said why); draw again
                }
                solverMacs += SolverMacs(network, outcome);
                outcomes.Add(outcome);
                (network, weights) = (outcome.Network, outcome.Weights);
            }
            if (settings.MaxParameters is { } maxParameters && network.TrainableParameterCount > maxParameters)
                return null;
            if (settings.MaxMacsPerImage is { } maxMacs && network.ForwardMacs > maxMacs)
                return null;
            var plan = new MorphPlan(outcomes.Select(o => o.Step));
            int id = _nextId++;
            long macs = solverMacs;
            if (settings.InheritWeights)
            {
                var report = MorphVerifier.Verify(_incumbent.Network, _incumbent.Weights, new MorphChainOutcome(network, weights, [.. outcomes]),
                    inputs: _sample, seed: id, device: device);
                macs += (_incumbent.Network.ForwardMacs + network.ForwardMacs) * report.Inputs;
                if (!(report.MaxRelError <= settings.MaxMorphError) || !report.PredictionsAgree)
                {
                    _spent += macs;
                    Record(Entry(id, round, TrialKind.Child, plan, network, 0, null, macs, clock.Elapsed.TotalSeconds, TrialStatus.NotExact,
                        $"max rel logit error {report.MaxRelError:0.0e+00} > {settings.MaxMorphError:0.0e+00} or predictions disagree"));
                    hooks.Log?.Invoke($"Child #{id} ({plan}) discarded: its morph is not exact (max rel logit error {report.MaxRelError:0.0e+00}).");
                    return null;
                }
                if (settings.ShrinkAndPerturb is { } sp)
                    weights = ShrinkAndPerturb(network, weights, sp.Shrink, sp.Perturb, TrialSeed(id));
            }
            else
            {
                weights = NetworkWeights.Initialize(network, TrialSeed(id));
            }
            return new Child(id, plan, network, weights, macs, clock.Elapsed.TotalSeconds);
        }

        private void RunRound(int round, List<Child> children)
        {
            _spent += children.Sum(c => c.MorphMacs);
            var recipe = settings.Recipe with
            {
                MaxEpoch = settings.EpochsPerTrial, WarmupEpochs = 0, EarlyStoppingPatience = null,
                LearningRate = settings.TrialLearningRate ?? settings.Recipe.LearningRate,
            };
            int incumbentTrial = _nextId++;
            var requests = new List<TrialRequest> { new(incumbentTrial, _incumbent.Network, _incumbent.Weights, recipe with { Seed = TrialSeed(incumbentTrial) }) };
            requests.AddRange(children.Select(c => new TrialRequest(c.Id, c.Network, c.Weights, recipe with { Seed = TrialSeed(c.Id) })));
            var results = RunTrials(requests);
            _childTrials += children.Count;

            var entries = new List<(TrialRecord Record, TrialRequest Request, TrialResult Result)>();
            for (int i = 0; i < requests.Count; i++)
            {
                var (request, result) = (requests[i], results[i]);
                if (result.Id != request.Id)
                    throw new InvalidOperationException($"The trial runner returned trial {result.Id} where trial {request.Id} was expected.");
                var child = i == 0 ? null : children[i - 1];
                _spent += result.Macs;
                var status = result.Weights is null ? TrialStatus.Diverged : TrialStatus.Trained;
                var record = Entry(request.Id, round, child is null ? TrialKind.Incumbent : TrialKind.Child, child?.Plan, request.Network,
                    settings.EpochsPerTrial, result, result.Macs + (child?.MorphMacs ?? 0), result.Seconds + (child?.MorphSeconds ?? 0), status, result.Failure);
                if (result.Weights is null)
                    hooks.Log?.Invoke($"Trial #{request.Id} ({child?.Plan.ToString() ?? "incumbent"}) discarded: {result.Failure}");
                entries.Add((record, request, result));
            }
            var best = entries.Where(e => e.Result.Weights is not null)
                .OrderByDescending(e => e.Result.ValidationAccuracy).ThenBy(e => e.Result.ValidationLoss).ThenBy(e => e.Request.Id)
                .FirstOrDefault();
            foreach (var e in entries)
            {
                bool selected = best.Record is not null && e.Request.Id == best.Request.Id;
                Record(selected ? e.Record with { Status = TrialStatus.Selected } : e.Record);
            }
            if (best.Record is not null)
            {
                _incumbent = (best.Request.Id, best.Request.Network, best.Result.Weights!);
                if (children.FirstOrDefault(c => c.Id == best.Request.Id) is { } winner)
                    _incumbentSteps = _incumbentSteps.AddRange(winner.Plan.Steps);
            }
        }

        private void FinalTraining(int round)
        {
            int epochs = FinalEpochs();
            if (epochs == 0)
                return;
            int id = _nextId++;
            var recipe = settings.Recipe with { MaxEpoch = epochs, WarmupEpochs = 0, EarlyStoppingPatience = null, Seed = TrialSeed(id) };
            hooks.Log?.Invoke($"Final training of #{_incumbent.Id}: {epochs} epoch(s), {TrialCost(_incumbent.Network, epochs):0.00e+00} MACs.");
            var result = RunTrials([new TrialRequest(id, _incumbent.Network, _incumbent.Weights, recipe)])[0];
            _spent += result.Macs;
            var status = result.Weights is null ? TrialStatus.Diverged : TrialStatus.Selected;
            Record(Entry(id, round, TrialKind.Final, null, _incumbent.Network, epochs, result, result.Macs, result.Seconds, status, result.Failure));
            if (result.Weights is null)
                hooks.Warning?.Invoke($"The final training diverged ({result.Failure}); the result keeps the weights of trial #{_incumbent.Id}.");
            else
                _incumbent = (id, _incumbent.Network, result.Weights);
        }

        private int FinalEpochs()
        {
            if (settings.FinalEpochs is { } fixedEpochs)
                return fixedEpochs;
            long perEpoch = TrialCost(_incumbent.Network, 1);
            int? byMacs = settings.MacBudget is { } budget ? (int)Math.Clamp((budget - _spent) / perEpoch, 0, 100_000) : null;
            int? byTime = null;
            if (settings.TimeBudget is { } time)
            {
                double left = time.TotalSeconds - _clock.Elapsed.TotalSeconds;
                byTime = (int)Math.Clamp(Math.Floor(left / Math.Max(1e-9, perEpoch * SecondsPerMac())), 0, 100_000);
            }
            return (byMacs, byTime) switch
            {
                ({ } m, { } t) => Math.Min(m, t),
                ({ } m, null) => m,
                (null, { } t) => t,
                _ => 2 * settings.EpochsPerTrial,
            };
        }

        private IReadOnlyList<TrialResult> RunTrials(List<TrialRequest> requests)
        {
            var results = runner.Run(requests, hooks.CancellationToken);
            hooks.CancellationToken.ThrowIfCancellationRequested();
            if (results is null || results.Count != requests.Count)
                throw new InvalidOperationException($"The trial runner returned {results?.Count ?? 0} result(s) for {requests.Count} trial(s).");
            return results;
        }

        private TrialRecord Entry(int id, int round, TrialKind kind, MorphPlan? plan, NetworkDescription network, int epochs, TrialResult? result,
            long macs, double seconds, TrialStatus status, string? note) =>
            new(id, _incumbent.Id, round, kind, plan?.ToString() ?? "", TrialRecord.Cut(network.ToString()), network.TrainableParameterCount, network.ForwardMacs,
                epochs, result?.Weights is null ? null : result.ValidationAccuracy, result?.Weights is null ? null : result.ValidationLoss,
                macs, _spent, seconds, _clock.Elapsed.TotalSeconds, status, note is null ? null : TrialRecord.Cut(note));

        private void Record(TrialRecord record)
        {
            _trials.Add(record);
            hooks.TrialCompleted?.Invoke(record);
            if (record.Kind == TrialKind.Child && record.Status == TrialStatus.NotExact)
                return;
            var c = CultureInfo.InvariantCulture;
            var what = record.Kind switch
            {
                TrialKind.Start => "start",
                TrialKind.Incumbent => "incumbent",
                TrialKind.Final => "final training",
                _ => record.Plan,
            };
            var accuracy = record.ValidationAccuracy is { } a ? a.ToString("P2", c) : record.Status.ToString().ToLowerInvariant();
            hooks.Log?.Invoke(string.Format(c, "Trial #{0} (round {1}{2}) {3}: validation {4}{5}; {6:N0} parameters, {7:0.00e+00} MACs/image, {8} epoch(s), {9:F1} s; search so far {10:0.00e+00} MACs, {11:F0} s.",
                record.Id, record.Round, record.ParentId is { } p ? $", from #{p}" : "", what, accuracy, record.Status == TrialStatus.Selected ? " (selected)" : "",
                record.Parameters, (double)record.MacsPerImage, record.Epochs, record.Seconds, (double)record.CumulativeMacs, record.CumulativeSeconds));
        }

        private string Limits() => string.Join(", ", new[]
        {
            settings.MaxParameters is { } p ? $"MaxParameters = {p:N0}" : null,
            settings.MaxMacsPerImage is { } m ? $"MaxMacsPerImage = {m:N0}" : null,
            $"morphs: {string.Join(", ", settings.AllowedMorphs)}",
        }.Where(s => s is not null));

        private int TrialSeed(int id) => Mix(settings.Seed, id);
    }

    /// <summary>
    /// An estimate of a solved morph's cost in MACs: a dense least-squares solve over G's unfolded kernel,
    /// n³ with n the largest of G's outputs, inputs × kernel area and the new width. 0 for morphs that solve nothing.
    /// </summary>
    internal static long SolverMacs(NetworkDescription parent, MorphOutcome outcome)
    {
        if (outcome.Solver is not { } solver || outcome.Step is not DeepenStep deepen || !parent.Contains(deepen.After))
            return 0;
        var layer = parent[deepen.After];
        long inputs = parent.Shapes[deepen.After].Input.Channels;
        var (outputs, kernel) = layer is Conv2dLayer conv ? (conv.OutChannels, conv.KernelSize) : (((DenseLayer)layer).Units, 1);
        long n = Math.Max(Math.Max(outputs, inputs * kernel * kernel), solver.Width);
        return checked(n * n * n);
    }

    /// <summary>Ash and Adams' shrink-and-perturb: conv, dense and skip weights and biases become shrink·w + perturb·w₀.</summary>
    internal static NetworkWeights ShrinkAndPerturb(NetworkDescription network, NetworkWeights weights, double shrink, double perturb, int seed)
    {
        var fresh = NetworkWeights.Initialize(network, seed);
        var changed = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        foreach (var spec in network.ParameterSpecs.Where(s => s.Role is ParameterRole.Weight or ParameterRole.Bias or ParameterRole.SkipProjection))
        {
            var w = weights[spec.Key].Values;
            var w0 = fresh[spec.Key].Values;
            var values = new double[w.Length];
            for (int i = 0; i < values.Length; i++)
                values[i] = shrink * w[i] + perturb * w0[i];
            changed[spec.Key] = new WeightTensor(spec.Shape, values);
        }
        return weights.With(changed);
    }

    /// <summary>The first rows of the validation data as the morphs' verification (and BatchNorm statistics) sample.</summary>
    private static WeightTensor Sample(ITrainingSet validation, int rows, TensorShape input)
    {
        var batch = validation.Batches(rows, shuffle: null).First();
        var values = new double[batch.Count * batch.FeatureSize];
        for (int i = 0; i < values.Length; i++)
            values[i] = batch.Features[i];
        return new WeightTensor([batch.Count, .. input.Dimensions.Select(d => (long)d)], values);
    }

    // A fixed integer mix of the seed and indices (not HashCode.Combine, which is randomised per process).
    private static int Mix(int seed, params int[] indices)
    {
        var context = new MorphContext(seed);
        foreach (int index in indices)
            context = context.ForStep(index);
        return context.Seed;
    }
}
