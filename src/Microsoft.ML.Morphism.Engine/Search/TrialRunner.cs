// Runs the trials of a growth-search round: the contract a cluster runner can implement, and the local one.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Search;

/// <summary>One trial: train a network from given weights for the recipe's epochs and measure it on the validation data.</summary>
/// <param name="Id">The trial's number in the search (unique).</param>
/// <param name="Network">The network to train.</param>
/// <param name="Weights">Its starting weights (inherited through the morphs, or fresh).</param>
/// <param name="Recipe">The recipe (epochs = the trial's epochs, seed = the trial's seed).</param>
public sealed record TrialRequest(int Id, NetworkDescription Network, NetworkWeights Weights, TrainingRecipe Recipe);

/// <summary>What a trial produced.</summary>
/// <param name="Id">The request's id.</param>
/// <param name="Weights">The trained weights (the last epoch's), or null when the trial failed.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation data after the last epoch (NaN when failed).</param>
/// <param name="ValidationLoss">Mean cross-entropy on the validation data after the last epoch (NaN when failed).</param>
/// <param name="Macs">Training and validation MACs the trial spent (see <see cref="EpochMetrics.CumulativeMacs"/>).</param>
/// <param name="Seconds">Wall time of the trial.</param>
/// <param name="Failure">Why the trial failed (e.g. it diverged), or null.</param>
public sealed record TrialResult(int Id, NetworkWeights? Weights, double ValidationAccuracy, double ValidationLoss, long Macs, double Seconds, string? Failure);

/// <summary>
/// Runs a round's trials. Trials are independent given their starting weights, so a runner may run them in any
/// order or in parallel (e.g. on a cluster); results come back in request order. Each trial must be deterministic in
/// its request (network, weights, recipe with its seed) for the search to be.
/// </summary>
public interface ITrialRunner
{
    /// <summary>Runs the trials; a failed trial (divergence) is a result with <see cref="TrialResult.Failure"/>, not an exception.</summary>
    IReadOnlyList<TrialResult> Run(IReadOnlyList<TrialRequest> trials, CancellationToken cancellationToken);
}

/// <summary>Runs trials one after another in this process with <see cref="NetworkTrainer"/>.</summary>
/// <param name="train">Training data.</param>
/// <param name="validation">Validation data, evaluated after every epoch of every trial.</param>
/// <param name="device">Where to train (CPU by default).</param>
/// <param name="checkAlive">Called before every batch (an ML.NET host's CheckAlive), or null.</param>
public sealed class LocalTrialRunner(ITrainingSet train, ITrainingSet validation, Device? device = null, Action? checkAlive = null) : ITrialRunner
{
    /// <summary>Data measured after every epoch of every trial as a monitor only (see <see cref="TrainingHooks.MonitorSet"/>), or null.</summary>
    public ITrainingSet? MonitorSet { get; init; }

    /// <summary>Called with each trained trial's per-epoch metrics (e.g. to draw a study's curves), or null.</summary>
    public Action<TrialRequest, IReadOnlyList<EpochMetrics>>? TrialTrained { get; init; }

    /// <inheritdoc/>
    public IReadOnlyList<TrialResult> Run(IReadOnlyList<TrialRequest> trials, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trials);
        var results = new List<TrialResult>(trials.Count);
        foreach (var trial in trials)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                var result = new NetworkTrainer(trial.Recipe, device).Train(trial.Network, trial.Weights, train, validation, new TrainingHooks
                {
                    CancellationToken = cancellationToken,
                    CheckAlive = checkAlive,
                    SelectBestValidationEpoch = false,
                    MonitorSet = MonitorSet,
                });
                TrialTrained?.Invoke(trial, result.History);
                var last = result.History[^1];
                results.Add(new TrialResult(trial.Id, result.Weights, last.ValidationAccuracy ?? double.NaN, last.ValidationLoss ?? double.NaN,
                    last.CumulativeMacs, clock.Elapsed.TotalSeconds, null));
            }
            catch (TrainingDivergedException e)
            {
                // What it spent before diverging is not known exactly; charge the whole trial (the budget stays an upper bound).
                long macs = trial.Recipe.MaxEpoch * trial.Network.EpochMacs(train.Count, validation.Count);
                results.Add(new TrialResult(trial.Id, null, double.NaN, double.NaN, macs, clock.Elapsed.TotalSeconds, e.Message));
            }
        }
        return results;
    }
}
