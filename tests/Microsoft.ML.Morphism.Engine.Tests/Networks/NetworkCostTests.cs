// Compute accounting: forward MACs per layer and in total, training MACs per image, and what a training run reports.
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Engine.Tests.Training;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

public class NetworkCostTests
{
    /// <summary>On random networks: every conv and dense layer's MACs are its weights times its output positions, and the total is their sum.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void MacsAreWeightsTimesOutputPositionsSummedOverTheNetwork(int seed)
    {
        var network = RandomNetworks.Cnn(seed);
        long expected = 0;
        foreach (var layer in network.AllLayers())
        {
            var (input, output) = network.Shapes[layer.Name];
            long macs = layer switch
            {
                Conv2dLayer c => (long)c.OutChannels * (input.Channels / c.Groups) * c.KernelSize * c.KernelSize * output.Height * output.Width,
                DenseLayer d => (long)d.Units * input.Channels,
                SkipLayer s => (long)input.Channels * (s.From == SkipLayer.NetworkInput ? network.Input : network.Shapes[s.From].Output).Channels * output.Height * output.Width,
                _ => 0,
            };
            if (layer is not ParallelLayer)
            {
                Assert.Equal(macs, network.LayerMacs(layer.Name));
                expected += macs;
            }
        }
        Assert.Equal(expected, network.ForwardMacs);
        Assert.InRange(network.TrainingMacsPerImage, 2 * network.ForwardMacs, 3 * network.ForwardMacs);
    }

    [Fact]
    public void TrainingCostsThreeForwardsExceptTheFirstLayerWhichSkipsItsInputGradient()
    {
        var network = NetworkDescription.Parse("input(1,8,8) conv(4,3) relu flatten dense(5)");
        long conv = 4 * 1 * 3 * 3 * 8 * 8, dense = 5 * 4 * 8 * 8;

        Assert.Equal(conv + dense, network.ForwardMacs);
        Assert.Equal(2 * conv + 3 * dense, network.TrainingMacsPerImage);
        var summary = network.Summary();
        Assert.Contains($"MACs per image: {conv + dense:N0} forward, {2 * conv + 3 * dense:N0} to train", summary);
        Assert.Contains($"{conv:N0}", summary.Split('\n').Single(l => l.Contains("conv1 (")));
    }

    [Fact]
    public void ATrainingRunReportsItsCumulativeMacsAndWallTime()
    {
        var network = NetworkDescription.Parse("input(1,10,10) conv(6,3) relu maxpool(2) flatten dense(4)");
        var train = SyntheticData.Squares(48, 4, 10, seed: 1);
        var validation = SyntheticData.Squares(16, 4, 10, seed: 2);

        var result = new NetworkTrainer(new TrainingRecipe { MaxEpoch = 3, BatchSize = 16, LearningRate = 0.05, Seed = 1 })
            .Train(network, NetworkWeights.Initialize(network, 1), train, validation);

        long perEpoch = network.TrainingMacsPerImage * 48 + network.ForwardMacs * 16;
        Assert.Equal([perEpoch, 2 * perEpoch, 3 * perEpoch], result.History.Select(h => h.CumulativeMacs));
        Assert.True(result.History.Zip(result.History.Skip(1)).All(p => p.Second.CumulativeSeconds >= p.First.CumulativeSeconds + p.Second.Seconds * 0.99));
    }
}
