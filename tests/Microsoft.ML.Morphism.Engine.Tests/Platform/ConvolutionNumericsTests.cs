// The numerics self-check's decisions, driven by injected faults so they are tested on any CPU.
using Microsoft.ML.Morphism.Engine.Tests.Training;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using Microsoft.ML.Morphism.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Platform;

/// <summary>
/// Each test starts from a forgotten decision with the disk cache off (or in a temp folder), injects
/// what a faulty CPU would measure, and checks what the process does. Run alone: the decision and
/// libtorch's oneDNN switch are process-wide.
/// </summary>
[Collection(nameof(SerialTorchTests))]
public sealed class ConvolutionNumericsTests : IDisposable
{
    private static readonly ConvolutionErrors Fault = new(0.3, double.NaN, 0.4);
    private static readonly NetworkDescription Net = NetworkDescription.Parse("input(1,12,12) conv(24,3) relu conv(20,3) skip(conv1) gap dense(3)");
    private readonly string _cache = Path.Combine(Path.GetTempPath(), $"morphism-numerics-{Guid.NewGuid():N}");

    public ConvolutionNumericsTests() => ConvolutionNumerics.Reset(cacheDirectory: null);

    public void Dispose()
    {
        ConvolutionCheck.InjectFault = null;
        ConvolutionNumerics.ResetToDefaults();
        if (Directory.Exists(_cache))
            Directory.Delete(_cache, recursive: true);
    }

    /// <summary>What an AVX-512 EPYC measured: plain convs with channel counts off the 16-blocks are wrong.</summary>
    private static ConvolutionErrors PlainUnalignedConvsFail(ConvolutionShape shape, ChannelPadding? padding, ConvolutionErrors measured) =>
        padding is null && !ChannelPadding.IsAligned(shape) && LibTorchSwitches.OneDnnEnabled != false ? Fault : measured;

    [Fact]
    public void AFaultOnPlainConvolutionsMovesTheProcessToPaddedOnes()
    {
        ConvolutionCheck.InjectFault = PlainUnalignedConvsFail;

        using var module = new NetworkModule(Net, NetworkWeights.Initialize(Net, 1));

        Assert.Equal(ConvolutionPath.Padded, ConvolutionNumerics.Path);
        Assert.Equal(new ChannelPadding(1, 32), ConvolutionNumerics.PaddingFor(Shape("conv1")));
        Assert.Equal(new ChannelPadding(32, 32), ConvolutionNumerics.PaddingFor(Shape("conv2")));
        Assert.Equal(new ChannelPadding(32, 32), ConvolutionNumerics.PaddingFor(Shape("skip1")));
        var report = ConvolutionNumerics.TakeReport();
        Assert.Contains("computes wrong float32 convolutions", report);
        Assert.Contains("zero channels added", report);
        Assert.Null(ConvolutionNumerics.TakeReport()); // reported once
        Assert.NotEqual(false, LibTorchSwitches.OneDnnEnabled);
    }

    [Fact]
    public void TheEngineTrainerChecksBeforeItsFirstConvolutionAndTrainsOnThePaddedPath()
    {
        ConvolutionCheck.InjectFault = PlainUnalignedConvsFail;
        var network = NetworkDescription.Parse("input(1,10,10) conv(24,3) relu maxpool(2) flatten dense(4)");

        var result = new NetworkTrainer(new TrainingRecipe { MaxEpoch = 2, BatchSize = 16, LearningRate = 0.05, Seed = 3 })
            .Train(network, NetworkWeights.Initialize(network, 1), SyntheticData.Squares(64, 4, 10, seed: 1));

        Assert.Equal(ConvolutionPath.Padded, ConvolutionNumerics.Path);
        Assert.All(result.History, h => Assert.True(double.IsFinite(h.TrainLoss)));
    }

    [Fact]
    public void AFaultOnPaddedConvolutionsTooSwitchesOneDnnOffForTheProcess()
    {
        Assert.NotNull(LibTorchSwitches.OneDnnEnabled); // the switch is reachable on this platform
        ConvolutionCheck.InjectFault = (shape, padding, measured) => LibTorchSwitches.OneDnnEnabled == false ? measured : Fault;

        using var module = new NetworkModule(Net, NetworkWeights.Initialize(Net, 1));

        Assert.Equal(ConvolutionPath.OneDnnOff, ConvolutionNumerics.Path);
        Assert.False(LibTorchSwitches.OneDnnEnabled);
        Assert.Null(ConvolutionNumerics.PaddingFor(Shape("conv1")));
        Assert.Contains("oneDNN is switched off", ConvolutionNumerics.TakeReport());
        ConvolutionNumerics.Reset(cacheDirectory: null);
        Assert.True(LibTorchSwitches.OneDnnEnabled);
    }

    [Fact]
    public void WhenNoPathPassesTheCanariesNothingIsComputed()
    {
        ConvolutionCheck.InjectFault = (_, _, _) => Fault;

        var e = Assert.Throws<ConvolutionNumericsException>(() => new NetworkModule(Net, NetworkWeights.Initialize(Net, 1)));

        Assert.Contains("no correct way to run float32 convolutions", e.Message);
        Assert.Contains("b16 20→20 14×14 k3", e.Message); // the first canary, by shape
    }

    [Fact]
    public void ALayerThatFailsOnEveryPathIsRefusedByName()
    {
        var odd = NetworkDescription.Parse("input(7,10,10) conv(5,3) flatten dense(2)");
        ConvolutionCheck.InjectFault = (shape, _, measured) => shape.InChannels == 7 ? Fault : measured;

        var e = Assert.Throws<ConvolutionNumericsException>(() => new NetworkModule(odd, NetworkWeights.Initialize(odd, 1)));

        Assert.Contains("Layer 'conv1'", e.Message);
        Assert.Contains("7→5 10×10 k3", e.Message);
    }

    [Fact]
    public void ALayerThatFailsLaterMovesTheWholeProcessUpAPathAndRechecksEarlierLayers()
    {
        var first = NetworkDescription.Parse("input(1,10,10) conv(16,3) flatten dense(2)");
        var second = NetworkDescription.Parse("input(1,10,10) conv(16,3) relu conv(28,3) flatten dense(2)");
        // A correct CPU (whatever this one measures) except for one plain shape.
        ConvolutionCheck.InjectFault = (shape, padding, _) => padding is null && shape.OutChannels == 28 ? Fault : default;
        ConvolutionNumerics.EnsureVerified(first);
        Assert.Equal(ConvolutionPath.Native, ConvolutionNumerics.Path);
        ConvolutionNumerics.TakeReport();

        ConvolutionNumerics.EnsureVerified(second);

        Assert.Equal(ConvolutionPath.Padded, ConvolutionNumerics.Path);
        Assert.Contains("layer 'conv2'", ConvolutionNumerics.TakeReport());
        Assert.Equal(new ChannelPadding(16, 32), ConvolutionNumerics.PaddingFor(ConvolutionNumerics.ConvolutionsOf(second).Single(c => c.Layer == "conv2").Shape));
    }

    [Fact]
    public void AForcedModeThatComputesWrongRefusesAndPointsToAuto()
    {
        ConvolutionNumerics.Reset(cacheDirectory: null, OneDnnMode.On);
        ConvolutionCheck.InjectFault = PlainUnalignedConvsFail;

        var e = Assert.Throws<ConvolutionNumericsException>(() => new NetworkModule(Net, NetworkWeights.Initialize(Net, 1)));

        Assert.Contains($"{ConvolutionNumerics.ModeVariable}=auto", e.Message);
    }

    [Fact]
    public void ForcedModesTakeTheirPath()
    {
        ConvolutionNumerics.Mode = OneDnnMode.Pad;
        ConvolutionNumerics.EnsureVerified(Net);
        Assert.Equal(ConvolutionPath.Padded, ConvolutionNumerics.Path);

        ConvolutionNumerics.Mode = OneDnnMode.Off;
        ConvolutionNumerics.EnsureVerified(Net);
        Assert.Equal(ConvolutionPath.OneDnnOff, ConvolutionNumerics.Path);
        Assert.False(LibTorchSwitches.OneDnnEnabled);

        ConvolutionNumerics.Mode = OneDnnMode.Auto;
        Assert.True(LibTorchSwitches.OneDnnEnabled);
    }

    [Fact]
    public void TheVerdictIsCachedPerKeyAndTheNextProcessTakesTheSamePathWithoutChecking()
    {
        ConvolutionNumerics.Reset(_cache);
        ConvolutionCheck.InjectFault = PlainUnalignedConvsFail;
        var first = ConvolutionNumerics.EnsureVerified(Net);
        Assert.False(first.FromCache);
        Assert.Equal(ConvolutionPath.Padded, first.Path);

        // A new process on the same key: no fault injected, no check run, the same path and paddings.
        int checks = 0;
        ConvolutionCheck.InjectFault = (_, _, measured) => { checks++; return measured; };
        ConvolutionNumerics.Reset(_cache);
        var second = ConvolutionNumerics.EnsureVerified(Net);

        Assert.True(second.FromCache);
        Assert.Equal(ConvolutionPath.Padded, second.Path);
        Assert.Equal(0, checks);
        Assert.Equal(new ChannelPadding(32, 32), ConvolutionNumerics.PaddingFor(Shape("conv2")));

        // Another thread count is another key: decided afresh.
        int threads = get_num_threads();
        try
        {
            set_num_threads(threads == 1 ? 2 : 1);
            ConvolutionNumerics.EnsureVerified(Net);
            Assert.True(checks > 0);
            Assert.False(ConvolutionNumerics.Verdict!.FromCache);
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void DecidingForAnotherKeyNeverChangesWhatRunningConvolutionsUse()
    {
        ConvolutionCheck.InjectFault = PlainUnalignedConvsFail;
        ConvolutionNumerics.EnsureVerified(Net);
        var conv1 = Shape("conv1");
        var before = (ConvolutionNumerics.Path, ConvolutionNumerics.PaddingFor(conv1));
        Assert.Equal((ConvolutionPath.Padded, new ChannelPadding(1, 32)), before);

        // While a new thread count is decided (canaries from the plain path up), a training in another
        // thread reads the live path and paddings on every forward: they must not move.
        var seen = new List<(ConvolutionPath, ChannelPadding?)>();
        ConvolutionCheck.InjectFault = (shape, padding, measured) =>
        {
            seen.Add((ConvolutionNumerics.Path, ConvolutionNumerics.PaddingFor(conv1)));
            return PlainUnalignedConvsFail(shape, padding, measured);
        };
        int threads = get_num_threads();
        try
        {
            set_num_threads(threads == 1 ? 2 : 1);
            ConvolutionNumerics.EnsureVerified(Net);
        }
        finally
        {
            set_num_threads(threads);
        }

        Assert.NotEmpty(seen);
        Assert.All(seen, s => Assert.Equal(before, s));
    }

    [Fact]
    public void ADamagedCacheFileIsIgnoredAndTheCheckRunsAgain()
    {
        ConvolutionNumerics.Reset(_cache);
        ConvolutionNumerics.EnsureVerified(Net);
        foreach (var file in Directory.GetFiles(_cache, "*.json"))
            File.WriteAllText(file, "{ \"Key\": 12, truncated");

        ConvolutionNumerics.Reset(_cache);
        var verdict = ConvolutionNumerics.EnsureVerified(Net);

        Assert.False(verdict.FromCache);
    }

    [Fact]
    public void AnUnknownModeInTheEnvironmentIsAClearError()
    {
        var before = Environment.GetEnvironmentVariable(ConvolutionNumerics.ModeVariable);
        try
        {
            Environment.SetEnvironmentVariable(ConvolutionNumerics.ModeVariable, "fast");
            ConvolutionNumerics.Reset(cacheDirectory: null);
            var e = Assert.Throws<ConvolutionNumericsException>(() => ConvolutionNumerics.EnsureVerified(Net));
            Assert.Contains("MORPHISM_ONEDNN='fast' is not valid", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ConvolutionNumerics.ModeVariable, before);
        }
    }

    [Fact]
    public void NetworksWithoutConvolutionsAndFloat64ModulesNeedNoCheck()
    {
        ConvolutionCheck.InjectFault = (_, _, _) => Fault;
        var mlp = NetworkDescription.Parse("input(12) dense(8) relu dense(3)");

        using var dense = new NetworkModule(mlp, NetworkWeights.Initialize(mlp, 1));
        using var float64 = new NetworkModule(Net, NetworkWeights.Initialize(Net, 1, Precision.Float64));

        Assert.Null(ConvolutionNumerics.Verdict);
    }

    private static ConvolutionShape Shape(string layer) => ConvolutionNumerics.ConvolutionsOf(Net).Single(c => c.Layer == layer).Shape;
}
