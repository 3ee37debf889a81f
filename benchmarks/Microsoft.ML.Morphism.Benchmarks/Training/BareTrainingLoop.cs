// Reference (a) of the throughput suite: the engine's limit, a bare TorchSharp loop over pre-built batch tensors.
using System.Diagnostics;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Benchmarks.Training;

/// <summary>
/// The same network (built with the engine's <see cref="NetworkModule"/>), the same optimizer as the
/// trainer (SGD, Nesterov momentum 0.9, weight decay 5e-4 on conv/dense weights only, P-activations
/// clamped after each step) and the same batch size, over batches that are already tensors: no ML.NET,
/// no IDataView, no copies, no accuracy bookkeeping. Per batch: zero_grad, forward, cross-entropy,
/// backward, step, clamp, and reading the loss (as any loop that logs it does).
/// </summary>
internal static class BareTrainingLoop
{
    public const double LearningRate = 0.01;
    public const double Momentum = 0.9;
    public const double WeightDecay = 5e-4;

    /// <summary>Trains for <paramref name="epochs"/> epochs and returns each epoch's images per second.</summary>
    public static IReadOnlyList<double> Run(NetworkDescription network, LabeledFeatures data, int batchSize, int epochs, int seed)
    {
        using var module = new NetworkModule(network, NetworkWeights.Initialize(network, seed));
        using var optimizer = CreateOptimizer(module);
        var batches = PrebuiltBatches(network, data, batchSize);
        try
        {
            var order = Enumerable.Range(0, batches.Count).ToArray();
            var shuffle = new Random(seed);
            var rates = new List<double>();
            module.train();
            for (int epoch = 0; epoch < epochs; epoch++)
            {
                shuffle.Shuffle(order);
                var clock = Stopwatch.StartNew();
                foreach (var index in order)
                {
                    using var scope = NewDisposeScope();
                    var (x, y) = batches[index];
                    optimizer.zero_grad();
                    var loss = nn.functional.cross_entropy(module.forward(x), y);
                    loss.backward();
                    optimizer.step();
                    module.ClampActivations();
                    loss.item<float>();
                }
                rates.Add(data.Count / clock.Elapsed.TotalSeconds);
            }
            return rates;
        }
        finally
        {
            foreach (var (x, y) in batches)
            {
                x.Dispose();
                y.Dispose();
            }
        }
    }

    /// <summary>The trainer's parameter groups: weight decay on tensors of rank ≥ 2 (conv, dense, skip weights) only.</summary>
    private static SGD CreateOptimizer(NetworkModule module)
    {
        var all = module.named_parameters().Select(p => p.parameter).ToList();
        return optim.SGD(
            [new SGD.ParamGroup(all.Where(p => p.dim() >= 2), LearningRate, Momentum, 0, WeightDecay, nesterov: true),
             new SGD.ParamGroup(all.Where(p => p.dim() < 2), LearningRate, Momentum, 0, 0, nesterov: true)],
            LearningRate, Momentum, nesterov: true);
    }

    /// <summary>Every batch as an input and a label tensor, created before timing starts and owned by the caller.</summary>
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
