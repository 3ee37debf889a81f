// What the examples add to System.CommandLine: number options that say what they need, and one way to answer --help and bad arguments.
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>
/// The examples' command lines on System.CommandLine: options for whole numbers with a minimum, lists of them and
/// non-negative numbers, whose errors name the option, the rule and the value given; and <see cref="Parse{T}"/>,
/// which answers <c>--help</c> (exit code 0) and a command line that does not parse (exit code 2) the same way in every example.
/// </summary>
public static class ExampleCommandLine
{
    /// <summary>The exit code of a command line that does not parse, or asks for something that does not fit together.</summary>
    public const int BadArguments = 2;

    /// <summary>An option taking a whole number of at least <paramref name="minimum"/>; <paramref name="defaultValue"/> when not given (help shows it).</summary>
    public static Option<int> WholeNumber(string name, string description, int defaultValue, int minimum = 1) =>
        new(name) { Description = description, HelpName = "n", DefaultValueFactory = _ => defaultValue, CustomParser = r => ParseWholeNumber(r, name, minimum) ?? 0 };

    /// <summary>An option taking a whole number of at least <paramref name="minimum"/>; null when not given (the description says what that means).</summary>
    public static Option<int?> OptionalWholeNumber(string name, string description, int minimum = 1) =>
        new(name) { Description = description, HelpName = "n", CustomParser = r => ParseWholeNumber(r, name, minimum) };

    /// <summary>An option taking comma-separated whole numbers of at least <paramref name="minimum"/> each, e.g. <c>--seeds 1,2,3</c>.</summary>
    public static Option<IReadOnlyList<int>> WholeNumbers(string name, string description, IReadOnlyList<int> defaultValue, int minimum) =>
        new(name)
        {
            Description = description,
            HelpName = "a,b,...",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                var values = new List<int>();
                foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
                        return Error<IReadOnlyList<int>>(result, $"Option '{name}' needs comma-separated whole numbers, got '{text}'.");
                    if (value < minimum)
                        return Error<IReadOnlyList<int>>(result, $"Option '{name}': every value must be at least {minimum}, got {value}.");
                    values.Add(value);
                }
                return values;
            },
        };

    /// <summary>An option taking a finite number (invariant culture, e.g. <c>0.005</c>), positive or, with <paramref name="allowZero"/>, ≥ 0; null when not given.</summary>
    public static Option<double?> Number(string name, string description, bool allowZero = false) =>
        new(name)
        {
            Description = description,
            HelpName = "x",
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value;
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                    && double.IsFinite(value) && (value > 0 || (value == 0 && allowZero))
                    ? value
                    : Error<double?>(result, $"Option '{name}' needs {(allowZero ? "a number of at least 0" : "a positive number")}, got '{text}'.");
            },
        };

    /// <summary>
    /// Parses <paramref name="args"/> for <paramref name="command"/> and reads the settings from the result with <paramref name="read"/>.
    /// On <c>--help</c>, prints the help and returns null with exit code 0. When the command line does not parse, or
    /// <paramref name="read"/> throws an <see cref="ArgumentException"/> (options that do not fit together), prints why on
    /// standard error, then <paramref name="hint"/> (the whole help when it is null), and returns null with exit code 2.
    /// </summary>
    /// <remarks>An argument starting with <c>@</c> is a value like any other, not a response file.</remarks>
    public static T? Parse<T>(RootCommand command, string[] args, Func<ParseResult, T> read, out int exitCode, string? hint = null)
        where T : class
    {
        // The examples have no version to show; the option would only lengthen the help.
        foreach (var version in command.Options.OfType<VersionOption>().ToArray())
            command.Options.Remove(version);
        var result = command.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is HelpAction)
        {
            exitCode = result.Invoke();
            return null;
        }
        IEnumerable<string> errors = result.Errors.Select(e => e.Message);
        if (result.Errors.Count == 0)
        {
            try
            {
                exitCode = 0;
                return read(result);
            }
            catch (ArgumentException e)
            {
                errors = [e.Message];
            }
        }
        foreach (var error in errors)
            Console.Error.WriteLine(error);
        if (hint is not null)
        {
            Console.Error.WriteLine(hint);
        }
        else
        {
            Console.Error.WriteLine();
            WriteHelp(command, Console.Error);
        }
        exitCode = BadArguments;
        return null;
    }

    /// <summary>Writes <paramref name="command"/>'s help, as <c>--help</c> prints it, to <paramref name="output"/>.</summary>
    public static void WriteHelp(RootCommand command, TextWriter output) =>
        command.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output });

    private static int? ParseWholeNumber(ArgumentResult result, string name, int minimum)
    {
        var text = result.Tokens[0].Value;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            return Error<int?>(result, $"Option '{name}' needs a whole number, got '{text}'.");
        return value >= minimum ? value : Error<int?>(result, $"Option '{name}' must be at least {minimum}, got {value}.");
    }

    private static T? Error<T>(ArgumentResult result, string message)
    {
        result.AddError(message);
        return default;
    }
}
