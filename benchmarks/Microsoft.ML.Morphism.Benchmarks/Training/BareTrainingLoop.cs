// Reference (a) of the throughput suite: the engine's limit, a bare TorchSharp loop over pre-built batch tensors, one epoch at a time.
using System.Diagnostics;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Training;

/// <summary>
/// The same network (built with the engine's <see cref="NetworkModule"/>), the same optimizer as the
/// trainer with its default recipe (SGD, Nesterov momentum 0.9, weight decay 5e-4 on conv/dense weights
/// only, peak learning rate 0.05 with the one-epoch warm-up and cosine decay set before every batch,
/// P-activations clamped after each step) and the same batch size and initial weights, over batches
/// that are already tensors: no ML.NET, no IDataView, no copies, no accuracy bookkeeping. Per batch:
/// learning rate, zero_grad, forward, cross-entropy, backward, step, clamp, and reading the loss (as
/// any loop that logs it does). Epochs run one call at a time, so they can be interleaved with the
/// trainer's epochs and measured under the same machine load.
/// </summary>
internal sealed class BareTrainingLoop : IDisposable
{
    private readonly NetworkModule _module;
    private readonly SGD _optimizer;
    private readonly double[] _factors;
    private readonly TrainingRecipe _recipe;
    private readonly List<(Tensor X, Tensor Y)> _batches;
    private readonly int[] _order;
    private readonly Random _shuffle;
    private readonly int _images;
    private int _epoch;

    public BareTrainingLoop(NetworkDescription network, LabeledFeatures data, int batchSize, int epochs, int seed)
    {
        _recipe = new TrainingRecipe { BatchSize = batchSize, MaxEpoch = epochs, Seed = seed };
        _module = new NetworkModule(network, NetworkWeights.Initialize(network, seed));
        _module.train();
        // The trainer's parameter groups: decayed weights, other parameters, and P-activations' a with their own factor.
        var all = _module.named_parameters().ToList();
        static bool IsLinearity((string Name, Parameter Parameter) p) => p.Name.EndsWith(".a", StringComparison.Ordinal);
        var groups = new (IEnumerable<Parameter> Parameters, double WeightDecay, double Factor)[]
        {
            (all.Where(p => p.parameter.dim() >= 2).Select(p => p.parameter), _recipe.WeightDecay, 1),
            (all.Where(p => p.parameter.dim() < 2 && !IsLinearity(p)).Select(p => p.parameter), 0, 1),
            (all.Where(p => IsLinearity(p)).Select(p => p.parameter), 0, _recipe.ActivationLearningRateFactor),
        }.Where(g => g.Parameters.Any()).ToArray();
        _factors = [.. groups.Select(g => g.Factor)];
        _optimizer = optim.SGD(
            [.. groups.Select(g => new SGD.ParamGroup(g.Parameters, _recipe.LearningRate * g.Factor, _recipe.Momentum, 0, g.WeightDecay, nesterov: true))],
            _recipe.LearningRate, _recipe.Momentum, nesterov: true);
        _batches = PrebuiltBatches(network, data, batchSize);
        _order = Enumerable.Range(0, _batches.Count).ToArray();
        _shuffle = new Random(seed);
        _images = data.Count;
    }

    /// <summary>
    /// Trains one epoch and returns its images per second. With <paramref name="phases"/>, batches are
    /// timed like the trainer's (forward + backward, step, the loss read; "upload" only counts batches).
    /// </summary>
    public double RunEpoch(TrainingPhaseTimes? phases = null)
    {
        _shuffle.Shuffle(_order);
        var clock = Stopwatch.StartNew();
        phases?.Start();
        for (int b = 0; b < _order.Length; b++)
        {
            double lr = _recipe.LearningRateAt(_epoch + (double)b / _order.Length);
            foreach (var (group, factor) in _optimizer.ParamGroups.Zip(_factors))
                group.LearningRate = lr * factor;
            using var scope = NewDisposeScope();
            var (x, y) = _batches[_order[b]];
            phases?.Lap(TrainingPhase.Upload);
            _optimizer.zero_grad();
            var loss = nn.functional.cross_entropy(_module.forward(x), y);
            loss.backward();
            phases?.Lap(TrainingPhase.ForwardBackward);
            _optimizer.step();
            _module.ClampActivations();
            phases?.Lap(TrainingPhase.Step);
            loss.item<float>();
            phases?.Lap(TrainingPhase.Bookkeeping);
        }
        _epoch++;
        return _images / clock.Elapsed.TotalSeconds;
    }

    public void Dispose()
    {
        foreach (var (x, y) in _batches)
        {
            x.Dispose();
            y.Dispose();
        }
        _optimizer.Dispose();
        _module.Dispose();
    }

    /// <summary>Every batch as an input and a label tensor, created before timing starts and owned by this loop.</summary>
    private static List<(Tensor X, Tensor Y)> PrebuiltBatches(NetworkDescription network, LabeledFeatures data, int batchSize)
    {
        var batches = new List<(Tensor, Tensor)>();
        int size = (int)network.Input.Size;
        for (int start = 0; start < data.Count; start += batchSize)
        {
            int count = Math.Min(batchSize, data.Count - start);
            var x = tensor(data.Features.AsSpan(start * size, count * size).ToArray(), network.Input.WithBatch(count)).DetachFromDisposeScope();
            var y = tensor(data.Labels.AsSpan(start, count).ToArray(), ScalarType.Int64).DetachFromDisposeScope();
            batches.Add((x, y));
        }
        return batches;
    }
}
