// One growth search inside an ML.NET host: data and validation split, device and threads, progress to the host's channel.
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Runs;

/// <summary>Shared by the growing trainer and <see cref="MorphismCatalog.Grow(ITransformer, IDataView, GrowingImageClassifierTrainer.Options)"/>.</summary>
internal static class GrowthRun
{
    public static GrowthSearchResult Run(IHost host, NetworkDescription network, NetworkWeights weights, IDataView train, IDataView? validation,
        FeatureColumn features, LabelColumn labels, GrowingImageClassifierTrainer.Options options, GrowthSearchSettings settings)
    {
        settings.Validate();
        using var channel = host.Start("Growth search");
        var data = TrainingRun.Prepare(host, channel, network, train, validation, features, labels, options.ToRunSettings(refit: false), settings.Seed);
        var (trainSet, validationSet) = (data.Train, data.Validation
            ?? throw new ArgumentException("The growth search needs validation rows (it chooses every trial by them): set ValidationSet or ValidationSetFraction."));
        var budget = string.Join(", ", new[]
        {
            settings.MacBudget is { } m ? $"{m:0.00e+00} MACs" : null,
            settings.MaxTrials is { } t ? $"{t} trials" : null,
            settings.TimeBudget is { } s ? $"{s} wall time" : null,
        }.Where(b => b is not null));
        channel.Info($"Growth search from {network.TrainableParameterCount:N0} parameters ({network.ForwardMacs:N0} MACs/image) on {data.DeviceName}: budget {budget}; " +
                     $"{settings.ChildrenPerRound} children per round, {settings.EpochsPerTrial} epoch(s) per trial, up to {settings.MaxMorphsPerChild} morph(s) per child ({string.Join(", ", settings.AllowedMorphs)}).");
        return new GrowthSearch(settings, data.Device).Run(network, weights, trainSet, validationSet, new GrowthSearchHooks
        {
            Log = message => channel.Info(message),
            Warning = message => channel.Warning(message),
            TrialCompleted = options.TrialCallback,
            CancellationToken = options.CancellationToken,
            CheckAlive = host.CheckAlive,
        });
    }
}
