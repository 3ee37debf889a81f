// Descriptions a damaged or forged file can hold: they fail as format errors naming the problem, never with another exception.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

public class MalformedNetworkTests
{
    [Fact]
    public void FlatteningMoreValuesThanAnArrayHoldsIsAFormatError()
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse("input(1,65536,65536) flatten dense(4)"));

        Assert.Contains("Layer 'flatten1'", e.Message);
        Assert.Contains("1×65536×65536", e.Message);
    }

    [Fact]
    public void FlatteningMoreValuesThanAnArrayHoldsIsAFormatErrorInJson()
    {
        var json = NetworkDescription.Parse("input(1,12,12) flatten dense(4)").ToJson().Replace("[1,12,12]", "[1,65536,65536]", StringComparison.Ordinal);

        var e = Assert.Throws<FormatException>(() => NetworkDescription.FromJson(json));

        Assert.Contains("Layer 'flatten1'", e.Message);
    }
}
