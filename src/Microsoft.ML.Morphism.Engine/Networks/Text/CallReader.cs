// Reads a parsed call's arguments for a layer kind or a morph step: positional values, key=value options, branches; errors say what is wrong and where.
using System.Collections.Immutable;
using System.Globalization;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// The arguments of one parsed <see cref="TextCall"/>, read by the layer kind or morph step it names.
/// First <see cref="Expect"/> checks their shape (how many positional values, which options), then the
/// typed getters read them. Every error goes through the text form's <c>error</c> function with the
/// position of the offending argument.
/// </summary>
internal class CallReader(TextCall call, Func<int, string, Exception> error)
{
    private readonly List<TextCall> _positional = [];
    private readonly Dictionary<string, TextCall> _options = new(StringComparer.Ordinal);
    private string[] _what = [];

    /// <summary>The call being read.</summary>
    public TextCall Call => call;

    /// <summary>The name the call is written with (<c>conv</c>, <c>prelu</c>, <c>widen</c>, ...).</summary>
    public string Keyword => call.Name;

    /// <summary>An error at <paramref name="position"/> of the text.</summary>
    public Exception Error(int position, string problem) => error(position, problem);

    /// <summary>An error at the call.</summary>
    public Exception Error(string problem) => error(call.ValueStart, problem);

    /// <summary>An error at the value of option <paramref name="key"/> (which must be given).</summary>
    public Exception Error(string key, string problem) => error(_options[key].ValueStart, problem);

    /// <summary>
    /// Checks the arguments: the first <paramref name="required"/> of the <paramref name="positional"/> values
    /// (described for messages, e.g. "the kernel size") are required, the rest optional; then <c>key=value</c>
    /// options among <paramref name="options"/>, each at most once. Without parentheses the call has no arguments.
    /// </summary>
    public void Expect(int required, string[] positional, params string[] options)
    {
        if (!call.HasParentheses && required > 0)
            throw Error(call.End, $"expected '(' and {positional[0]} after '{Keyword}'");
        foreach (var argument in call.Arguments)
        {
            if (argument.AfterBar)
                throw Error(argument.Start, "unexpected '|'; separate arguments with ','");
            if (argument.Calls.Length > 1)
                throw Error(argument.Calls[1].Start, $"expected ',' between '{TextQuote.Of(argument.Calls[0].ValueText)}' and '{TextQuote.Of(argument.Calls[1].Text)}'");
            var value = argument.Calls[0];
            if (value.Key is null)
            {
                if (_options.Count > 0)
                    throw Error(value.Start, $"positional argument '{TextQuote.Of(value.Text)}' after a named one");
                _positional.Add(value);
            }
            else if (!options.Contains(value.Key))
            {
                throw Error(value.Start, $"unknown option '{TextQuote.Of(value.Key)}'; " +
                    (options.Length > 0 ? $"valid: {string.Join(", ", options)}" : $"{Keyword} takes none"));
            }
            else if (!_options.TryAdd(value.Key, value))
            {
                throw Error(value.Start, $"option '{TextQuote.Of(value.Key)}' given twice");
            }
        }
        int count = _positional.Count, max = positional.Length;
        if (count < required || count > max)
        {
            var message = required == max
                ? $"expected {required} positional argument(s), got {count}"
                : $"expected {required} to {max} positional arguments, got {count}";
            if (count < required)
                message += count == 0 ? $" ({positional[0]})" : $"; expected ',' and {positional[count]} after '{TextQuote.Of(_positional[^1].Text)}'";
            throw Error(count > max ? _positional[max].Start : call.End - 1, message);
        }
        _what = positional;
    }

    /// <summary>How many positional values the call has.</summary>
    public int Count => _positional.Count;

    /// <summary>Positional value <paramref name="index"/> as a plain word (a layer name).</summary>
    public string Word(int index) => Atom(_positional[index], _what[index]);

    /// <summary>Positional value <paramref name="index"/> as an integer.</summary>
    public int Int(int index) => Int(_positional[index], _what[index]);

    /// <summary>Positional value <paramref name="index"/> as a number.</summary>
    public double Double(int index) => Double(_positional[index], _what[index]);

    /// <summary>Option <paramref name="key"/> as a plain word, or null when not given.</summary>
    public string? Word(string key) => _options.TryGetValue(key, out var v) ? Atom(v, key) : null;

    /// <summary>Option <paramref name="key"/> as an integer, or <paramref name="fallback"/>.</summary>
    public int Int(string key, int fallback) => _options.TryGetValue(key, out var v) ? Int(v, key) : fallback;

    /// <summary>Option <paramref name="key"/> as an integer, or null.</summary>
    public int? Int(string key) => _options.TryGetValue(key, out var v) ? Int(v, key) : null;

    /// <summary>Option <paramref name="key"/> as a number, or <paramref name="fallback"/>.</summary>
    public double Double(string key, double fallback) => _options.TryGetValue(key, out var v) ? Double(v, key) : fallback;

    /// <summary>Option <paramref name="key"/> as <c>true</c> or <c>false</c>, or <paramref name="fallback"/>.</summary>
    public bool Bool(string key, bool fallback) => !_options.TryGetValue(key, out var v) ? fallback
        : Atom(v, key) switch
        {
            "true" => true,
            "false" => false,
            _ => throw Error(v.ValueStart, $"{key} must be true or false, got '{TextQuote.Of(v.ValueText)}'"),
        };

    /// <summary>Option <paramref name="key"/> as one of <typeparamref name="TEnum"/>'s names (any case), or null.</summary>
    public TEnum? Enum<TEnum>(string key) where TEnum : struct, Enum
    {
        if (!_options.TryGetValue(key, out var v))
            return null;
        return v.IsAtom && System.Enum.TryParse<TEnum>(v.Name, ignoreCase: true, out var result) && System.Enum.IsDefined(result)
            ? result
            : throw Error(v.ValueStart, $"{key} must be one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}, got '{TextQuote.Of(v.ValueText)}'");
    }

    /// <summary>The arguments as sequences of calls separated by <c>'|'</c>: the branches of <c>parallel(a b | c)</c>.</summary>
    public ImmutableArray<ImmutableArray<TextCall>> Branches()
    {
        if (!call.HasParentheses)
            throw Error(call.End, $"expected '(' and branches separated by '|' after '{Keyword}'");
        foreach (var argument in call.Arguments.Skip(1).Where(a => !a.AfterBar))
            throw Error(argument.Start, "expected '|' between branches, found ','");
        return [.. call.Arguments.Select(a => a.Calls)];
    }

    private string Atom(TextCall value, string what) =>
        value.IsAtom ? value.Name : throw Error(value.ValueStart, $"{what} must be a plain value, got '{TextQuote.Of(value.ValueText)}'");

    private int Int(TextCall value, string what) =>
        value.IsAtom && int.TryParse(value.Name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) ? result
        : throw Error(value.ValueStart, $"{what} must be an integer, got '{TextQuote.Of(value.ValueText)}'");

    private double Double(TextCall value, string what) =>
        value.IsAtom && double.TryParse(value.Name, NumberStyles.Float, CultureInfo.InvariantCulture, out double result) ? result
        : throw Error(value.ValueStart, $"{what} must be a number, got '{TextQuote.Of(value.ValueText)}'");
}
