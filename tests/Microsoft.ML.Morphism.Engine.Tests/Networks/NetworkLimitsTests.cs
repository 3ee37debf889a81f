// Issue 16: small forged networks that made one scored row take minutes and gigabytes, and sizes that overflowed, are refused up front.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

/// <summary>
/// Every network — parsed, read from JSON or made by a morph — is checked against <see cref="NetworkLimits"/> before any
/// tensor exists, and sizes that overflow are named, never a bare <see cref="OverflowException"/> or a wrapped value. The
/// networks are the ones an independent review forged (see the issue); all checks are static, none is timed.
/// </summary>
public class NetworkLimitsTests
{
    private const long ManagedAllocationLimit = 64L << 20;

    [Theory]
    // One row took 15 s and +2 GB; with relus after it, 35 s / 4.9 GB and 81 s / 12 GB.
    [InlineData("input(1,8,8) conv(1,1,pad=8000) gap dense(3)", "Layer 'conv1' outputs 1×16008×16008, that is 256,256,064 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer)")]
    [InlineData("input(1,8,8) conv(16,1,pad=500) relu relu relu relu gap dense(3)", "The input and the layers' outputs total 81,285,203 values per image (the largest: 'conv1', 16,257,024); the limit is 33,554,432 (NetworkLimits.MaxActivationValues)")]
    // 41 s for one row; three such stages 129 s.
    [InlineData("input(1,8,8) maxpool(16001,stride=1,pad=8000) gap dense(3)", "Layer 'maxpool1' pads its 1×8×8 input by 8000 on each side, that is 256,256,064 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer)")]
    [InlineData("input(1,2000,2000) maxpool(1000,stride=1) maxpool(30,stride=1) gap dense(3)", "Layer 'maxpool1' (1000×1000 windows) reads 1,002,001,000,000 values per image; the limit is 536,870,912 (NetworkLimits.MaxPoolingReads)")]
    [InlineData("input(3,64,64) conv(512,3) conv(512,3) conv(512,3) conv(512,3) gap dense(3)", "The network needs 29,047,653,888 forward multiply-accumulates per image (the most: layer 'conv2', 9,663,676,416); the limit is 5,000,000,000 (NetworkLimits.MaxForwardMacs)")]
    [InlineData("input(1,8,8) flatten dense(200000000)", "Layer 'dense1' outputs 200000000, that is 200,000,000 values per image; the limit is 16,777,216 (NetworkLimits.MaxValuesPerLayer)")]
    [InlineData("input(1,8,8) flatten dense(3000000) dense(3)", "The network stores 204,000,003 parameters (the most: layer 'dense1', 195,000,000); the limit is 134,217,728 (NetworkLimits.MaxParameters)")]
    public void NetworksBeyondTheLimitsAreRefusedAtParseNamingTheLayerAndTheLimit(string text, string expected)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        Assert.Contains(expected, e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ManagedAllocationLimit);
    }

    [Theory]
    // These passed Parse and failed inside libtorch, or threw a bare OverflowException naming no layer.
    [InlineData("input(1,8,8) conv(1,3,stride=1073741824,dilation=1073741824) gap dense(3)", "Layer 'conv1'")]
    [InlineData("input(1,8,8) conv(1000000000,3) gap dense(3)", "Layer 'conv1'")]
    [InlineData("input(1,8,8) conv(4,1000001) gap dense(3)", "Layer 'conv1'")]
    [InlineData("input(1,8,8) conv(2147483647,3,pad=2147483647) gap dense(3)", "Layer 'conv1'")]
    [InlineData("input(2147483647,2147483647,2147483647) gap dense(3)", "input")]
    public void OverflowingSizesAreAFormatErrorNamingTheLayer(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        Assert.Contains(expected, e.Message);
        Assert.IsNotType<OverflowException>(e.InnerException);
    }

    [Theory]
    [InlineData("widen(conv1, 1000000000)", "flatten1")] // its flattened output would not fit a vector
    [InlineData("widen(conv1, 1000000)", "conv1")]
    [InlineData("kernel(conv1, 1000001)", "conv1")]
    [InlineData("deepen(conv1, kernel=1000001)", "conv1")]
    [InlineData("deepen(conv1, width=1000000000)", "conv1")]
    [InlineData("branch(conv1, 1000001)", "conv1")]
    [InlineData("widen(dense1, 1000000000)", "dense1")]
    public void MorphsBeyondTheLimitsAreRefusedBeforeAllocatingNamingTheLayer(string plan, string layer)
    {
        // widen(conv1, 1000000) allocated past 10 GB; the others threw OverflowException or raw libtorch errors.
        var net = NetworkDescription.Parse("input(1,12,12) conv(4,3) relu maxpool(2) flatten dense(8) relu dense(3)");
        var weights = NetworkWeights.Initialize(net, seed: 1);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var e = Assert.ThrowsAny<ArgumentException>(() => MorphPlan.Parse(plan).Apply(net, weights));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < ManagedAllocationLimit, $"allocated {(GC.GetAllocatedBytesForCurrentThread() - before) >> 20} MB");
        Assert.Contains($"'{layer}'", e.Message);
        Assert.Matches(@"NetworkLimits\.|more than a vector holds", e.Message);
    }

    [Fact]
    public void JustUnderTheLimitsParsesAndTheLimitsCanBeRaised()
    {
        // 16×1024² = 16,777,216 values: exactly MaxValuesPerLayer.
        var under = NetworkDescription.Parse("input(1,8,8) conv(16,1,pad=508) gap dense(3)");
        Assert.Equal(16_777_216, under.Shapes["conv1"].Output.Size);
        // One channel in, one out, but where the numerics workaround rounds channels up to 16 that is 16 planes of 1208².
        var blocked = Assert.Throws<FormatException>(() => NetworkDescription.Parse("input(1,8,8) conv(1,1,pad=600) gap dense(3)"));
        Assert.Contains("Layer 'conv1' reads its 1×8×8 input padded by 600 on each side, channels rounded up to 16: that is 23,348,224 values per image; the limit is 16,777,216", blocked.Message);

        var text = "input(1,8,8) conv(16,1,pad=600) gap dense(3)";
        Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));
        var saved = NetworkLimits.Current;
        try
        {
            NetworkLimits.Current = saved with { MaxValuesPerLayer = 1L << 26, MaxActivationValues = 1L << 27 };
            Assert.Equal(23_348_224, NetworkDescription.Parse(text).Shapes["conv1"].Output.Size);
        }
        finally
        {
            NetworkLimits.Current = saved;
        }
        Assert.Throws<ArgumentNullException>(() => NetworkLimits.Current = null!);
    }
}
