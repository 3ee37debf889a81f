// Cancellation stops a training or a refit before the next batch, mid-epoch, with or without a validation set.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

[Collection(nameof(SerialTorchTests))]
public class TrainingCancellationTests
{
    private static readonly NetworkDescription Net = NetworkDescription.Parse("input(1,10,10) conv(6,3) bn relu maxpool(2) flatten dense(4)");

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void CancellationInTheSecondEpochStopsBeforeTheNextBatch(bool refit, bool validate)
    {
        var data = SyntheticData.Squares(160, 4, 10, seed: 1); // 10 batches of 16 per epoch
        using var cancel = new CancellationTokenSource();
        int batches = 0;
        var epochs = new List<int>();
        var hooks = new TrainingHooks
        {
            CancellationToken = cancel.Token,
            StartingWeightsAreACandidate = refit,
            EpochCompleted = m => epochs.Add(m.Epoch),
            CheckAlive = () =>
            {
                if (++batches == 13)
                    cancel.Cancel();
            },
        };
        var recipe = new TrainingRecipe { MaxEpoch = 5, BatchSize = 16, LearningRate = 0.05, Seed = 3 };

        Assert.ThrowsAny<OperationCanceledException>(() => new NetworkTrainer(recipe).Train(Net, NetworkWeights.Initialize(Net, 1), data,
            validate ? SyntheticData.Squares(32, 4, 10, seed: 2) : null, hooks));

        Assert.Equal(13, batches);
        Assert.Equal(refit && validate ? [0, 1] : [1], epochs); // epoch 0 = the starting weights, measured on the validation set
    }
}
