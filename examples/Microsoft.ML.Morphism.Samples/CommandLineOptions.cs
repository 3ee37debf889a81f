// The examples' command lines: "--name value" pairs checked against the options a program knows.
namespace Microsoft.ML.Morphism.Samples;

/// <summary>
/// Parses command lines of the form <c>--name value ...</c> (and <c>--help</c>), as every example takes them,
/// e.g. <c>--data /usr/share/datasets/fashion-mnist --train-per-class 200</c>.
/// </summary>
/// <remarks>Unknown or repeated options are errors, so a typo never silently falls back to a default.</remarks>
public sealed class CommandLineOptions
{
    private readonly Dictionary<string, string> _values;

    private CommandLineOptions(Dictionary<string, string> values, bool helpRequested)
    {
        _values = values;
        HelpRequested = helpRequested;
    }

    /// <summary><see langword="true"/> when the command line holds <c>--help</c> or <c>-h</c>.</summary>
    public bool HelpRequested { get; }

    /// <summary>Parses <paramref name="args"/>, accepting only the options named in <paramref name="knownOptions"/>.</summary>
    /// <param name="args">The program's arguments.</param>
    /// <param name="knownOptions">The option names the program takes, with their dashes, e.g. <c>--data</c>.</param>
    /// <exception cref="ArgumentException">An argument is not a known option, an option is repeated, or an option has no value; the message says which.</exception>
    public static CommandLineOptions Parse(IReadOnlyList<string> args, params string[] knownOptions)
    {
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = false;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "--help" or "-h")
            {
                help = true;
                continue;
            }
            if (!knownOptions.Contains(name, StringComparer.Ordinal))
                throw new ArgumentException($"Unknown argument '{name}'; options are {string.Join(", ", knownOptions)}.");
            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"Option '{name}' needs a value.");
            if (!values.TryAdd(name, args[++i]))
                throw new ArgumentException($"Option '{name}' is given more than once.");
        }
        return new CommandLineOptions(values, help);
    }

    /// <summary>The value of option <paramref name="name"/>, or <paramref name="defaultValue"/> when it is not given.</summary>
    public string GetString(string name, string defaultValue) => _values.GetValueOrDefault(name, defaultValue);

    /// <summary>The value of option <paramref name="name"/> as a whole number of at least <paramref name="minimum"/>, or <paramref name="defaultValue"/> when it is not given.</summary>
    /// <exception cref="ArgumentException">The value is not a whole number, or is below <paramref name="minimum"/>.</exception>
    public int GetInt(string name, int defaultValue, int minimum)
    {
        if (!_values.TryGetValue(name, out var text))
            return defaultValue;
        if (!int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
            throw new ArgumentException($"Option '{name}' needs a whole number, got '{text}'.");
        if (value < minimum)
            throw new ArgumentException($"Option '{name}' must be at least {minimum}, got {value}.");
        return value;
    }

    /// <summary>
    /// The value of option <paramref name="name"/> as a comma-separated list of whole numbers, each at least
    /// <paramref name="minimum"/> (e.g. <c>--seeds 1,2,3</c>), or <paramref name="defaultValue"/> when it is not given.
    /// </summary>
    /// <exception cref="ArgumentException">An item is not a whole number or is below <paramref name="minimum"/>, or the list is empty.</exception>
    public IReadOnlyList<int> GetIntList(string name, IReadOnlyList<int> defaultValue, int minimum)
    {
        if (!_values.TryGetValue(name, out var text))
            return defaultValue;
        var items = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new List<int>(items.Length);
        foreach (var item in items)
        {
            if (!int.TryParse(item, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value))
                throw new ArgumentException($"Option '{name}' needs comma-separated whole numbers, got '{text}'.");
            if (value < minimum)
                throw new ArgumentException($"Option '{name}': every value must be at least {minimum}, got {value}.");
            values.Add(value);
        }
        return values;
    }

    /// <summary>The value of option <paramref name="name"/> as a positive, finite number (invariant culture, e.g. <c>0.005</c>), or null when it is not given.</summary>
    /// <exception cref="ArgumentException">The value is not a positive finite number.</exception>
    public double? GetPositiveDouble(string name) => GetDouble(name, allowZero: false);

    /// <summary>The value of option <paramref name="name"/> as a finite number ≥ 0 (invariant culture), or null when it is not given.</summary>
    /// <exception cref="ArgumentException">The value is not a finite number ≥ 0.</exception>
    public double? GetNonNegativeDouble(string name) => GetDouble(name, allowZero: true);

    private double? GetDouble(string name, bool allowZero)
    {
        if (!_values.TryGetValue(name, out var text))
            return null;
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || !double.IsFinite(value) || value < 0 || (value == 0 && !allowZero))
            throw new ArgumentException($"Option '{name}' needs {(allowZero ? "a number of at least 0" : "a positive number")}, got '{text}'.");
        return value;
    }
}
