// Training on the shapes oneDNN got wrong: finite, bit-identical run after run; non-finite weights are a divergence.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

/// <summary>
/// On an affected AVX-512 EPYC these networks gave different weights or NaN from run to run before
/// the numerics self-check (one thread, same seed). Run alone: the thread count is process-wide.
/// </summary>
[Collection(nameof(SerialTorchTests))]
public class NumericsTrainingTests
{
    public static TheoryData<string, int> Networks => new()
    {
        // The review's network, and one network per faulty shape of the table (input size, batch).
        { "input(1,14,14) conv(8,3) relu conv(8,3) flatten dense(16) relu dense(4)", 16 },
        { "input(8,14,14) conv(8,3,pad=0) relu flatten dense(4)", 16 },
        { "input(1,16,16) conv(8,3,pad=0) relu flatten dense(4)", 16 },
        { "input(8,16,16) conv(8,3,pad=0) relu flatten dense(4)", 16 },
        { "input(8,14,14) conv(8,3,pad=0) relu flatten dense(4)", 64 },
        { "input(8,14,14) conv(8,3) relu flatten dense(4)", 16 },
        { "input(20,14,14) conv(20,3) relu gap dense(4)", 64 },
        { "input(24,14,14) conv(24,3) relu gap dense(4)", 64 },
        { "input(40,14,14) conv(40,3) relu gap dense(4)", 64 },
    };

    [Theory]
    [MemberData(nameof(Networks))]
    public void TrainingIsFiniteAndBitIdenticalFiveTimesInOneProcess(string architecture, int batch)
    {
        var network = NetworkDescription.Parse(architecture);
        var input = network.Input;
        var data = SyntheticData.Squares(architecture.StartsWith("input(1,14", StringComparison.Ordinal) ? 300 : 128, 4, input.Height, seed: 42, channels: input.Channels);
        var recipe = new TrainingRecipe { MaxEpoch = 2, BatchSize = batch, LearningRate = 0.05, Seed = 42 };
        int threads = get_num_threads();
        set_num_threads(1);
        try
        {
            var runs = Enumerable.Range(0, 5).Select(_ => new NetworkTrainer(recipe).Train(network, NetworkWeights.Initialize(network, 42), data)).ToList();

            Assert.All(runs, r => Assert.All(r.History, h => Assert.True(double.IsFinite(h.TrainLoss), $"loss {h.TrainLoss}")));
            var first = runs[0].Weights;
            foreach (var other in runs.Skip(1).Select(r => r.Weights))
                Assert.All(first.Keys, key => Assert.True(first[key].Values.SequenceEqual(other[key].Values), $"{key} differs between runs"));
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void NonFiniteWeightsAfterTheLastStepAreADivergenceNotAConstructorError()
    {
        var network = NetworkDescription.Parse("input(1,10,10) conv(6,3) relu maxpool(2) flatten dense(4)");
        var data = SyntheticData.Squares(64, 4, 10, seed: 1);
        var recipe = new TrainingRecipe { MaxEpoch = 2, BatchSize = 16, LearningRate = 0.05, Seed = 3 };
        var start = NetworkWeights.Initialize(network, 1);
        TrainingHooks Hooks(bool refit)
        {
            int steps = 0;
            return new TrainingHooks
            {
                StartingWeightsAreACandidate = refit,
                // The very last step leaves a NaN weight behind a finite loss, as a faulty backward kernel did.
                AfterStep = module =>
                {
                    if (++steps != 8)
                        return;
                    using var noGrad = no_grad();
                    module.named_parameters().Single(p => p.name == "conv1.weight").parameter.fill_(double.NaN);
                },
            };
        }

        var scratch = Assert.Throws<TrainingDivergedException>(() => new NetworkTrainer(recipe).Train(network, start, data, hooks: Hooks(refit: false)));
        Assert.Contains("'conv1.weight' is not finite", scratch.Message);

        var refit = new NetworkTrainer(recipe).Train(network, start, data, hooks: Hooks(refit: true));
        Assert.Equal(StopReason.Diverged, refit.Reason);
        Assert.All(refit.Weights.Keys, key => Assert.True(refit.Weights[key].Values.SequenceEqual(start[key].Values), key));
    }
}
