// The one parser of the shared text grammar: a linear-time tokenizer and call parser with a nesting limit and positioned errors.
using System.Collections.Immutable;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>What kind of syntax error the parser found; the text forms may word some of them their own way.</summary>
internal enum SyntaxProblem
{
    /// <summary>A token (or character) that cannot stand here.</summary>
    Unexpected,
    /// <summary>A <c>'('</c> with no name before it.</summary>
    MissingName,
    /// <summary>The text ends inside parentheses.</summary>
    MissingClose,
    /// <summary>More nested parentheses than the limit.</summary>
    TooDeep,
    /// <summary>Nothing between two separators, or between a separator and <c>')'</c>.</summary>
    EmptyArgument,
    /// <summary>Nothing after <c>key=</c> or <c>label:</c>.</summary>
    MissingValue,
}

/// <summary>A syntax error: its kind, its 0-based position in the text, and a message that names what is wrong.</summary>
internal readonly record struct SyntaxError(SyntaxProblem Problem, int Position, string Message);

/// <summary>
/// Reads calls of the grammar described at <see cref="TextCall"/>, one token at a time and without
/// backtracking, so its time is linear in the text. At most <c>maxDepth</c> parentheses nest (recursion
/// is bounded by the limit, so deeply nested text fails with a <see cref="SyntaxProblem.TooDeep"/> error
/// instead of exhausting the stack). Errors go through the caller's <c>error</c> function, which turns a
/// <see cref="SyntaxError"/> into the exception the caller's text form throws.
/// </summary>
internal sealed class CallParser(string text, int maxDepth, Func<SyntaxError, Exception> error)
{
    private int _pos;

    /// <summary>The text being parsed.</summary>
    public string Text => text;

    /// <summary>The position of the next token (white space skipped).</summary>
    public int Position
    {
        get
        {
            SkipSpace();
            return _pos;
        }
    }

    /// <summary>True when only white space is left.</summary>
    public bool AtEnd => Position >= text.Length;

    /// <summary>True when the next token is an atom (a name, number or keyword).</summary>
    public bool NextIsAtom => !AtEnd && IsAtomChar(text[_pos]);

    /// <summary>The next token's text, without reading it ("" at the end).</summary>
    public string NextToken()
    {
        int start = Position, end = start;
        while (end < text.Length && IsAtomChar(text[end]))
            end++;
        return end > start ? text[start..end] : start < text.Length ? text[start].ToString() : "";
    }

    /// <summary>Reads <paramref name="punctuation"/> when it is the next token.</summary>
    public bool TrySkip(char punctuation)
    {
        if (Position < text.Length && text[_pos] == punctuation)
        {
            _pos++;
            return true;
        }
        return false;
    }

    /// <summary>Reads one call at the top level (the next token must be an atom, see <see cref="NextIsAtom"/>).</summary>
    public TextCall Call() => Call(depth: 0);

    /// <summary>Reads calls up to the end of the text.</summary>
    public ImmutableArray<TextCall> Sequence()
    {
        var calls = ImmutableArray.CreateBuilder<TextCall>();
        while (!AtEnd)
        {
            if (!NextIsAtom)
                throw Fail(text[_pos] == '(' ? SyntaxProblem.MissingName : SyntaxProblem.Unexpected, _pos, UnexpectedMessage());
            calls.Add(Call(depth: 0));
        }
        return calls.ToImmutable();
    }

    /// <summary>"unexpected 'x'", or what a stray parenthesis means.</summary>
    public string UnexpectedMessage() => NextToken() switch
    {
        "" => "unexpected end of the text",
        ")" => "unmatched ')'",
        "(" => "missing a name before '('",
        var token when token.Length == 1 && !IsAtomChar(token[0]) && !IsPunctuation(token[0]) => $"unexpected character '{token}'",
        var token => $"unexpected '{TextQuote.Of(token)}'",
    };

    private TextCall Call(int depth)
    {
        int start = Position;
        var name = Atom();
        int end = _pos;
        string? key = null, label = null;
        int valueStart = start;
        if (TrySkip('='))
        {
            key = name;
            valueStart = Position;
            name = Atom();
            end = _pos;
            if (name.Length == 0)
                throw Fail(SyntaxProblem.MissingValue, Position, $"expected a value after '{TextQuote.Of(key)}=', found {Found()}");
        }
        if (TrySkip(':'))
        {
            label = name;
            name = Atom();
            end = _pos;
            if (name.Length == 0)
                throw Fail(SyntaxProblem.MissingValue, Position, $"expected a name after '{TextQuote.Of(label)}:', found {Found()}");
        }
        bool parentheses = false;
        var arguments = ImmutableArray<TextArgument>.Empty;
        if (Position < text.Length && text[_pos] == '(')
        {
            if (depth >= maxDepth)
                throw TooDeep();
            _pos++;
            parentheses = true;
            arguments = Arguments(depth + 1);
            end = _pos;
        }
        bool marked = TrySkip('*');
        return new TextCall(name)
        {
            Key = key, Label = label, HasParentheses = parentheses, Arguments = arguments, Marked = marked,
            Source = text, Start = start, ValueStart = valueStart, End = marked ? _pos : end,
        };
    }

    // After '(': arguments separated by ',' or '|', up to the matching ')'.
    private ImmutableArray<TextArgument> Arguments(int depth)
    {
        var arguments = ImmutableArray.CreateBuilder<TextArgument>();
        if (TrySkip(')'))
            return arguments.ToImmutable();
        bool afterBar = false;
        while (true)
        {
            arguments.Add(Argument(depth, afterBar));
            if (TrySkip(')'))
                return arguments.ToImmutable();
            if (TrySkip(','))
                afterBar = false;
            else if (TrySkip('|'))
                afterBar = true;
            else
                throw AtEnd ? Fail(SyntaxProblem.MissingClose, text.Length, "missing ')'") : Fail(SyntaxProblem.Unexpected, _pos, UnexpectedMessage());
        }
    }

    private TextArgument Argument(int depth, bool afterBar)
    {
        var calls = ImmutableArray.CreateBuilder<TextCall>();
        while (NextIsAtom)
            calls.Add(Call(depth));
        if (calls.Count > 0)
            return new TextArgument(calls.ToImmutable(), afterBar);
        throw NextToken() switch
        {
            "" => Fail(SyntaxProblem.MissingClose, text.Length, "missing ')'"),
            "(" when depth >= maxDepth => TooDeep(),
            "(" => Fail(SyntaxProblem.MissingName, _pos, "missing a name before '('"),
            "," or "|" or ")" => Fail(SyntaxProblem.EmptyArgument, _pos, afterBar ? "an empty branch after '|'" : "an empty argument"),
            _ => Fail(SyntaxProblem.Unexpected, _pos, UnexpectedMessage()),
        };
    }

    private Exception TooDeep() =>
        Fail(SyntaxProblem.TooDeep, _pos, $"more than {maxDepth} nested parentheses (the limit of this text form)");

    private string Found() => NextToken() is { Length: > 0 } token ? $"'{TextQuote.Of(token)}'" : "the end of the text";

    private string Atom()
    {
        int start = Position;
        while (_pos < text.Length && IsAtomChar(text[_pos]))
            _pos++;
        return text[start.._pos];
    }

    private void SkipSpace()
    {
        while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            _pos++;
    }

    private Exception Fail(SyntaxProblem problem, int position, string message) => error(new SyntaxError(problem, position, message));

    private static bool IsAtomChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '+' or '-';

    private static bool IsPunctuation(char c) => c is '(' or ')' or ',' or '=' or '|' or ':' or '*' or ';';
}
