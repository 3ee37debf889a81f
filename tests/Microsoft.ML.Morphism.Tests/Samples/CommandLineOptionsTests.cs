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

    [Fact]
    public void ListOptionGivesEveryNumberInOrder()
    {
        var options = CommandLineOptions.Parse(["--seeds", "3, 1,2"], "--seeds", "--out");

        Assert.Equal([3, 1, 2], options.GetIntList("--seeds", [1], minimum: 0));
        Assert.Equal([1], options.GetIntList("--out", [1], minimum: 0));
    }

    [Theory]
    [InlineData("1,,2", "needs comma-separated whole numbers, got '1,,2'")]
    [InlineData("1,x", "needs comma-separated whole numbers, got '1,x'")]
    [InlineData("1,0", "every value must be at least 1, got 0")]
    public void ListOptionRejectsItemsThatAreNotWholeNumbersAtLeastTheMinimum(string value, string expected)
    {
        var options = CommandLineOptions.Parse(["--seeds", value], "--seeds");

        var e = Assert.Throws<ArgumentException>(() => options.GetIntList("--seeds", [1], minimum: 1));

        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("0.005", 0.005)]
    [InlineData("1e-3", 0.001)]
    public void PositiveNumberOptionReadsInvariantCulture(string value, double expected)
    {
        var options = CommandLineOptions.Parse(["--learning-rate", value], "--learning-rate");

        Assert.Equal(expected, options.GetPositiveDouble("--learning-rate"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("0,5")]
    public void PositiveNumberOptionRejectsOtherValues(string value)
    {
        var options = CommandLineOptions.Parse(["--learning-rate", value], "--learning-rate");

        var e = Assert.Throws<ArgumentException>(() => options.GetPositiveDouble("--learning-rate"));

        Assert.Contains($"Option '--learning-rate' needs a positive number, got '{value}'", e.Message);
    }

    [Fact]
    public void AbsentPositiveNumberOptionIsNull()
    {
        Assert.Null(CommandLineOptions.Parse([], "--learning-rate").GetPositiveDouble("--learning-rate"));
    }

    [Theory]
    [InlineData("0", 0.0)]
    [InlineData("0.5", 0.5)]
    public void NonNegativeNumberOptionTakesZero(string value, double expected)
    {
        var options = CommandLineOptions.Parse(["--refit-warmup-epochs", value], "--refit-warmup-epochs");

        Assert.Equal(expected, options.GetNonNegativeDouble("--refit-warmup-epochs"));
    }

    [Theory]
    [InlineData("-0.5")]
    [InlineData("Infinity")]
    [InlineData("one")]
    public void NonNegativeNumberOptionRejectsOtherValues(string value)
    {
        var options = CommandLineOptions.Parse(["--refit-warmup-epochs", value], "--refit-warmup-epochs");

        var e = Assert.Throws<ArgumentException>(() => options.GetNonNegativeDouble("--refit-warmup-epochs"));

        Assert.Contains($"Option '--refit-warmup-epochs' needs a number of at least 0, got '{value}'", e.Message);
    }
}
