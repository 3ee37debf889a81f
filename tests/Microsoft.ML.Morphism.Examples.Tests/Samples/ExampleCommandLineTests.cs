// Specifies ExampleCommandLine: the examples' number options on System.CommandLine, and how a command line ends in settings or an exit code.
using System.CommandLine;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

public class ExampleCommandLineTests
{
    [Fact]
    public void WholeNumberOptionTakesItsValueOrItsDefault()
    {
        Assert.Equal(7, Value(Epochs(), "--epochs", "7"));
        Assert.Equal(5, Value(Epochs()));
        Assert.Null(Value(ExampleCommandLine.OptionalWholeNumber("--threads", "")));
    }

    [Theory]
    [InlineData("ten", "Option '--epochs' needs a whole number, got 'ten'.")]
    [InlineData("+3", "Option '--epochs' needs a whole number, got '+3'.")]
    [InlineData("0", "Option '--epochs' must be at least 1, got 0.")]
    public void WholeNumberOptionRejectsValuesThatAreNotWholeNumbersAtLeastTheMinimum(string value, string expected)
    {
        Assert.Equal(expected, Error(Epochs(), "--epochs", value));
    }

    [Fact]
    public void ListOptionGivesEveryNumberInOrder()
    {
        Assert.Equal([3, 1, 2], Value(Seeds(), "--seeds", "3, 1,2"));
        Assert.Equal([1], Value(Seeds()));
    }

    [Theory]
    [InlineData("1,,2", "Option '--seeds' needs comma-separated whole numbers, got '1,,2'.")]
    [InlineData("1,x", "Option '--seeds' needs comma-separated whole numbers, got '1,x'.")]
    [InlineData("1,0", "Option '--seeds': every value must be at least 1, got 0.")]
    public void ListOptionRejectsItemsThatAreNotWholeNumbersAtLeastTheMinimum(string value, string expected)
    {
        Assert.Equal(expected, Error(Seeds(), "--seeds", value));
    }

    [Theory]
    [InlineData("0.005", 0.005)]
    [InlineData("1e-3", 0.001)]
    public void PositiveNumberOptionReadsInvariantCulture(string value, double expected)
    {
        Assert.Equal(expected, Value(LearningRate(), "--learning-rate", value));
        Assert.Null(Value(LearningRate()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("0,5")]
    public void PositiveNumberOptionRejectsOtherValues(string value)
    {
        Assert.Equal($"Option '--learning-rate' needs a positive number, got '{value}'.", Error(LearningRate(), "--learning-rate", value));
    }

    [Fact]
    public void NonNegativeNumberOptionTakesZeroButNothingBelow()
    {
        var warmup = () => ExampleCommandLine.Number("--refit-warmup-epochs", "", allowZero: true);

        Assert.Equal(0.0, Value(warmup(), "--refit-warmup-epochs", "0"));
        Assert.Equal("Option '--refit-warmup-epochs' needs a number of at least 0, got 'one'.", Error(warmup(), "--refit-warmup-epochs", "one"));
    }

    [Fact]
    public void ParseGivesTheSettingsWithExitCodeZero()
    {
        var epochs = Epochs();

        Assert.Equal("3", ExampleCommandLine.Parse(new RootCommand { epochs }, ["--epochs", "3"], r => r.GetValue(epochs).ToString(), out var exitCode));
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public void ParseAnswersHelpWithExitCodeZeroAndNoSettings()
    {
        Assert.Null(ExampleCommandLine.Parse(new RootCommand { Epochs() }, ["--help"], _ => "settings", out var exitCode));
        Assert.Equal(0, exitCode);
    }

    [Theory]
    [InlineData("--epochs", "ten")] // a bad value
    [InlineData("--epoch", "3")] // a misspelled option never falls back to a default
    [InlineData("--epochs", "3", "--epochs", "4")] // a repeated option
    [InlineData("--epochs")] // an option without its value
    [InlineData("3")] // a stray argument
    public void ParseTurnsACommandLineThatDoesNotParseIntoExitCodeTwo(params string[] args)
    {
        Assert.Null(ExampleCommandLine.Parse(new RootCommand { Epochs() }, args, _ => "settings", out var exitCode, hint: "Run with --help."));
        Assert.Equal(ExampleCommandLine.BadArguments, exitCode);
    }

    [Fact]
    public void ParseTurnsOptionsThatDoNotFitTogetherIntoExitCodeTwo()
    {
        Assert.Null(ExampleCommandLine.Parse<string>(new RootCommand { Epochs() }, [], _ => throw new ArgumentException("--a needs --b."), out var exitCode, hint: "Run with --help."));
        Assert.Equal(ExampleCommandLine.BadArguments, exitCode);
    }

    [Fact]
    public void AValueStartingWithAtIsAValueNotAResponseFile()
    {
        var output = new Option<string>("--out");

        Assert.Equal("@folder", ExampleCommandLine.Parse(new RootCommand { output }, ["--out", "@folder"], r => r.GetValue(output)!, out _));
    }

    private static Option<int> Epochs() => ExampleCommandLine.WholeNumber("--epochs", "", defaultValue: 5);

    private static Option<IReadOnlyList<int>> Seeds() => ExampleCommandLine.WholeNumbers("--seeds", "", [1], minimum: 1);

    private static Option<double?> LearningRate() => ExampleCommandLine.Number("--learning-rate", "");

    private static T? Value<T>(Option<T> option, params string[] args)
    {
        var result = new RootCommand { option }.Parse(args);
        Assert.Empty(result.Errors);
        return result.GetValue(option);
    }

    private static string Error(Option option, params string[] args) => Assert.Single(new RootCommand { option }.Parse(args).Errors).Message;
}
