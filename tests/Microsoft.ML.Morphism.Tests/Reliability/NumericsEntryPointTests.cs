// Every ML.NET entry point runs the numerics self-check before its first convolution: it detects an injected fault, works around it, or refuses.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Platform;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// The faults are injected (<see cref="ConvolutionCheck.InjectFault"/>), so this holds on any CPU:
/// "plain convolutions whose channel counts are off the 16-blocks are wrong" must end in the padded
/// path with a warning in ML.NET's log; "every convolution is wrong" must end in a
/// <see cref="ConvolutionNumericsException"/> before anything is trained or scored. Run alone: the
/// decision is process-wide.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public sealed class NumericsEntryPointTests : IDisposable
{
    private const string Architecture = "conv(24,3) relu maxpool(2) flatten";
    private static readonly ConvolutionErrors Fault = new(0.3, double.NaN, 0.4);
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;
    private readonly List<string> _log = [];
    private readonly TempDirectory _dir = new();

    public NumericsEntryPointTests()
    {
        _data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 6, seed: 1));
        _ml.Log += (_, e) => { lock (_log) _log.Add(e.Message); };
    }

    public void Dispose()
    {
        ConvolutionCheck.InjectFault = null;
        ConvolutionNumerics.ResetToDefaults();
        _dir.Dispose();
    }

    public static TheoryData<string> EntryPoints => ["Fit", "Transform", "PredictionEngine", "Load+Transform", "Morph", "UpgradeModel"];

    [Theory]
    [MemberData(nameof(EntryPoints))]
    public void AnInjectedFaultIsDetectedAndWorkedAround(string entryPoint)
    {
        var run = Prepare(entryPoint);
        Inject(PlainUnalignedConvsFail);

        run();

        Assert.Equal(ConvolutionPath.Padded, ConvolutionNumerics.Path);
        Assert.Contains(_log, m => m.Contains("libtorch computes wrong float32 convolutions here", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(EntryPoints))]
    public void WhenNothingComputesRightTheEntryPointRefuses(string entryPoint)
    {
        var run = Prepare(entryPoint);
        Inject((_, _, _) => Fault);

        var e = Assert.ThrowsAny<Exception>(run);

        Assert.True(e is ConvolutionNumericsException || e.InnerException is ConvolutionNumericsException, e.ToString());
        Assert.Contains("no correct way to run float32 convolutions", e.ToString());
    }

    [Fact]
    public void LoadingAModelRunsNoCheckUntilItScores()
    {
        var path = _dir.File("model.zip");
        _ml.Morphism().SaveModel(Train(), _data.Schema, path);
        Inject((_, _, _) => Fault);

        var loaded = _ml.Model.Load(path, out _);

        Assert.Null(ConvolutionNumerics.Verdict);
        Assert.ThrowsAny<Exception>(() => loaded.Transform(_data).Preview());
    }

    [Fact]
    public void AMorphToTwentyFourChannelsRefitsWithFiniteLosses()
    {
        var parent = SmallModels.Train(_ml, _data);
        var epochs = new List<double>();
        var child = parent.Morph(_ml, MorphPlan.Parse("widen(conv1, 24)"), new RefitOptions { MaxEpoch = 2, MetricsCallback = m => epochs.Add(m.TrainLoss) }).Fit(_data);

        Assert.Equal(2, epochs.Count);
        Assert.All(epochs, loss => Assert.True(double.IsFinite(loss), $"refit loss {loss}"));
        Assert.All(SmallModels.Scores(child, _data), s => Assert.True(float.IsFinite(s)));
    }

    private static ConvolutionErrors PlainUnalignedConvsFail(ConvolutionShape shape, ChannelPadding? padding, ConvolutionErrors measured) =>
        padding is null && !ChannelPadding.IsAligned(shape) && LibTorchSwitches.OneDnnEnabled != false ? Fault : measured;

    private static void Inject(Func<ConvolutionShape, ChannelPadding?, ConvolutionErrors, ConvolutionErrors> fault)
    {
        ConvolutionNumerics.Reset(cacheDirectory: null);
        ConvolutionCheck.InjectFault = fault;
    }

    private ITransformer Train()
    {
        var options = SmallModels.Options();
        options.Architecture = Architecture;
        return SmallModels.Train(_ml, _data, options);
    }

    /// <summary>Everything an entry point needs, trained before the fault is injected; the returned action is the entry point.</summary>
    private Action Prepare(string entryPoint)
    {
        switch (entryPoint)
        {
            case "Fit":
                return () => Train();
            case "Transform":
            {
                var model = Train();
                return () => SmallModels.Scores(model, _data);
            }
            case "PredictionEngine":
            {
                var model = Train();
                var row = SyntheticImages.Vectors(perClass: 1, seed: 2)[0];
                return () => _ml.Model.CreatePredictionEngine<SyntheticImages.VectorRow, Prediction>(model).Predict(row);
            }
            case "Load+Transform":
            {
                var path = _dir.File("model.zip");
                _ml.Morphism().SaveModel(Train(), _data.Schema, path);
                return () => SmallModels.Scores(_ml.Model.Load(path, out _), _data);
            }
            case "Morph":
            {
                var model = Train();
                return () => model.Morph(_ml, MorphPlan.Parse("widen(conv1, 28)"), new RefitOptions { MaxEpoch = 0 }).Fit(_data);
            }
            case "UpgradeModel":
            {
                var path = _dir.File("parent.zip");
                _ml.Morphism().SaveModel(Train(), _data.Schema, path);
                return () => _ml.Morphism().UpgradeModel(path, _dir.File("child.zip"), MorphPlan.Parse("deepen(conv1)"), refit: new RefitOptions { MaxEpoch = 0 });
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(entryPoint));
        }
    }

    private sealed class Prediction
    {
        [ColumnName("PredictedLabel")]
        public string? Label { get; set; }
    }
}
