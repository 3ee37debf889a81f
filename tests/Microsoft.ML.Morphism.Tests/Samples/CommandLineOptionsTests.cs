// Specifies CommandLineOptions: "--name value" parsing for the examples, and the mistakes it refuses.
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class CommandLineOptionsTests
{
    [Fact]
    public void GivenOptionsOverrideDefaultsAndOthersKeepThem()
    {
        var options = CommandLineOptions.Parse(["--data", "/data", "--test-per-class", "7"], "--data", "--out", "--test-per-class");

        Assert.Equal("/data", options.GetString("--data", "default"));
        Assert.Equal("default", options.GetString("--out", "default"));
        Assert.Equal(7, options.GetInt("--test-per-class", 100, minimum: 1));
        Assert.False(options.HelpRequested);
    }

    [Fact]
    public void HelpIsRecognised()
    {
        Assert.True(CommandLineOptions.Parse(["--help"], "--data").HelpRequested);
    }

    [Fact]
    public void MisspelledOptionIsRejectedListingTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLineOptions.Parse(["--dat", "/data"], "--data", "--out"));

        Assert.Contains("Unknown argument '--dat'; options are --data, --out", e.Message);
    }

    [Fact]
    public void OptionWithoutValueIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLineOptions.Parse(["--data", "--out", "x"], "--data", "--out"));

        Assert.Contains("Option '--data' needs a value", e.Message);
    }

    [Fact]
    public void RepeatedOptionIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => CommandLineOptions.Parse(["--out", "a", "--out", "b"], "--out"));

        Assert.Contains("Option '--out' is given more than once", e.Message);
    }

    [Theory]
    [InlineData("ten", "needs a whole number, got 'ten'")]
    [InlineData("-3", "needs a whole number, got '-3'")]
    [InlineData("0", "must be at least 1, got 0")]
    public void NumberOptionRejectsValuesThatAreNotWholeNumbersAtLeastTheMinimum(string value, string expected)
    {
        var options = CommandLineOptions.Parse(["--train-per-class", value], "--train-per-class");

        var e = Assert.Throws<ArgumentException>(() => options.GetInt("--train-per-class", 200, minimum: 1));

        Assert.Contains(expected, e.Message);
    }
}
