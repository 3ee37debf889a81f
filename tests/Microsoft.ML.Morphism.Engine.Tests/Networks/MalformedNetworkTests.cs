// Descriptions a damaged or forged file can hold: they fail as format errors naming the problem, never with another exception.
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

public class MalformedNetworkTests
{
    private const string BranchJson = "input(1,12,12) parallel(conv(4,3) | conv(4,3)) relu flatten dense(4)";

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

    [Fact]
    public void NullLayerInsideABranchIsAFormatError()
    {
        var json = NetworkDescription.Parse(BranchJson).ToJson();
        int conv = json.IndexOf("{\"kind\":\"conv\"", StringComparison.Ordinal);
        json = json[..conv] + "null" + json[(json.IndexOf('}', conv) + 1)..];

        var e = Assert.Throws<FormatException>(() => NetworkDescription.FromJson(json));

        Assert.Contains("A layer in a branch of 'parallel1' is null", e.Message);
    }

    [Fact]
    public void NullBranchIsAFormatError()
    {
        var json = NetworkDescription.Parse(BranchJson).ToJson();
        int start = json.IndexOf("\"branches\":[", StringComparison.Ordinal) + "\"branches\":[".Length;
        int end = json.IndexOf(']', start) + 1;
        json = json[..start] + "null" + json[end..];

        var e = Assert.Throws<FormatException>(() => NetworkDescription.FromJson(json));

        Assert.Contains("Network JSON is not valid", e.Message);
    }

    [Fact]
    public void MissingBranchesAreAFormatError()
    {
        var json = NetworkDescription.Parse(BranchJson).ToJson();
        int start = json.IndexOf(",\"branches\":", StringComparison.Ordinal);
        int end = json.IndexOf("]]", start) + 2;
        json = json[..start] + json[end..];

        var e = Assert.Throws<FormatException>(() => NetworkDescription.FromJson(json));

        Assert.Contains("Layer 'parallel1': its branches are missing", e.Message);
    }
}
