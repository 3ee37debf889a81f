// The syntax tree of the shared text grammar (one call: name, positional and key=value arguments, '|'-separated sequences) and its printer.
using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// One call of the grammar shared by the network text form and the morph plan text form:
/// <code>
/// call     := [ key '=' ] [ label ':' ] atom [ '(' [ argument { (',' | '|') argument } ] ')' ] [ '*' ]
/// argument := call { call }                      (a sequence: the layers of a parallel branch; else one value)
/// atom     := [A-Za-z0-9_.+-]+                   (names, numbers, keywords)
/// </code>
/// A plain value (<c>16</c>, <c>same</c>, <c>conv1</c>) is a call without parentheses. Parsed calls
/// remember where they stand in <see cref="Source"/>, for error messages; built calls (for printing) do not.
/// </summary>
internal sealed record TextCall(string Name)
{
    /// <summary>The key of a <c>key=value</c> argument, else null.</summary>
    public string? Key { get; init; }

    /// <summary>The label before <c>':'</c> (a layer's name in the network text), else null.</summary>
    public string? Label { get; init; }

    /// <summary>True when written with parentheses (<c>bn()</c> has them and no arguments, <c>bn</c> has none).</summary>
    public bool HasParentheses { get; init; }

    /// <summary>The arguments inside the parentheses, in order.</summary>
    public ImmutableArray<TextArgument> Arguments { get; init; } = [];

    /// <summary>True when followed by <c>'*'</c> (a layer a morph created).</summary>
    public bool Marked { get; init; }

    /// <summary>The parsed text, or null for a built call.</summary>
    public string? Source { get; init; }

    /// <summary>Where the call starts in <see cref="Source"/> (its key, if any, included).</summary>
    public int Start { get; init; }

    /// <summary>Where the value starts: after <c>key=</c>, else <see cref="Start"/>.</summary>
    public int ValueStart { get; init; }

    /// <summary>Where the call ends in <see cref="Source"/> (exclusive).</summary>
    public int End { get; init; }

    /// <summary>True for a bare atom: no parentheses, label or mark.</summary>
    public bool IsAtom => !HasParentheses && Label is null && !Marked;

    /// <summary>The call as written (from its key on), or as it prints for a built call.</summary>
    public string Text => Source is null ? ToString() : Source[Start..End];

    /// <summary>The value as written, without its <c>key=</c>.</summary>
    public string ValueText => Source is null ? (this with { Key = null }).ToString() : Source[ValueStart..End];

    /// <summary>A built call with one more positional argument (a value).</summary>
    public TextCall Add(string? value) => Add([new TextCall(value ?? "")], afterBar: false);

    /// <summary>A built call with one more positional integer.</summary>
    public TextCall Add(int value) => Add(value.ToString(CultureInfo.InvariantCulture));

    /// <summary>A built call with one more positional number (round-trip format).</summary>
    public TextCall Add(double value) => Add(value.ToString("R", CultureInfo.InvariantCulture));

    /// <summary>A built call with one more argument: a sequence of calls (a parallel branch when <paramref name="afterBar"/>).</summary>
    public TextCall Add(ImmutableArray<TextCall> sequence, bool afterBar) =>
        this with { HasParentheses = true, Arguments = Arguments.Add(new TextArgument(sequence, afterBar && !Arguments.IsEmpty)) };

    /// <summary>A built call with <c>key=value</c> appended unless the value is the default (or null).</summary>
    public TextCall Option<T>(string key, T value, T fallback)
    {
        if (value is null || EqualityComparer<T>.Default.Equals(value, fallback))
            return this;
        var text = value switch
        {
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            Enum e => e.ToString().ToLowerInvariant(),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
        return Add([new TextCall(text) { Key = key }], afterBar: false);
    }

    /// <summary>The call as messages show it: arguments separated by <c>", "</c>.</summary>
    public override string ToString() => Print(", ");

    /// <summary>Prints the call with <paramref name="comma"/> between arguments (<c>","</c> or <c>", "</c>).</summary>
    public string Print(string comma) => Write(new StringBuilder(), comma).ToString();

    /// <summary>Appends the call to <paramref name="text"/>.</summary>
    public StringBuilder Write(StringBuilder text, string comma)
    {
        if (Key is not null)
            text.Append(Key).Append('=');
        if (Label is not null)
            text.Append(Label).Append(':');
        text.Append(Name);
        if (HasParentheses)
        {
            text.Append('(');
            for (int i = 0; i < Arguments.Length; i++)
            {
                if (i > 0)
                    text.Append(Arguments[i].AfterBar ? " | " : comma);
                WriteSequence(text, Arguments[i].Calls, comma);
            }
            text.Append(')');
        }
        if (Marked)
            text.Append('*');
        return text;
    }

    /// <summary>Appends calls separated by single spaces.</summary>
    public static StringBuilder WriteSequence(StringBuilder text, IEnumerable<TextCall> calls, string comma)
    {
        bool first = true;
        foreach (var call in calls)
        {
            if (!first)
                text.Append(' ');
            first = false;
            call.Write(text, comma);
        }
        return text;
    }
}

/// <summary>
/// One argument of a <see cref="TextCall"/>: a sequence of calls (one for a value or <c>key=value</c>),
/// after a <c>','</c> or, when <paramref name="AfterBar"/>, a <c>'|'</c> (the branches of <c>parallel(a | b)</c>).
/// </summary>
internal sealed record TextArgument(ImmutableArray<TextCall> Calls, bool AfterBar)
{
    /// <summary>Where the argument starts in the parsed text.</summary>
    public int Start => Calls[0].Start;
}

/// <summary>Quotes of user text in error messages: at most 80 characters, cut with "...".</summary>
internal static class TextQuote
{
    /// <summary>The usual longest quote.</summary>
    public const int Limit = 80;

    /// <summary>At most <paramref name="limit"/> characters of <paramref name="value"/> from its start.</summary>
    public static string Of(string value, int limit = Limit) => value.Length <= limit ? value : value[..(limit - 3)] + "...";

    /// <summary>At most <paramref name="limit"/> characters of <paramref name="text"/> around <paramref name="position"/>.</summary>
    public static string Around(string text, int position, int limit = Limit)
    {
        if (text.Length <= limit)
            return text;
        int start = Math.Clamp(position - limit / 2, 0, text.Length - limit);
        int end = start + limit;
        var head = start > 0 ? "..." : "";
        var tail = end < text.Length ? "..." : "";
        return head + text[(start + head.Length)..(end - tail.Length)] + tail;
    }
}
