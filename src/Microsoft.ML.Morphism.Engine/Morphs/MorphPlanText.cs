// The plan text form: parsing "deepen(conv2) widen(conv1, 32) kernel(conv2, 5)" into steps.
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

public sealed partial class MorphPlan
{
    /// <summary>
    /// Parses the plan text form (what <see cref="ToString"/> prints): steps separated by white space
    /// (commas or semicolons between steps are also accepted), each <c>name(arguments)</c>:
    /// <code>
    /// deepen(layer[, kernel=1][, width=N][, activation=relu|tanh|sigmoid|elu|gelu][, method=netmorph|idmorph])
    /// widen(layer, newWidth)
    /// kernel(layer, newKernelSize)
    /// branch(layer[, kernelSize])
    /// skip(from, to)
    /// bn(after)
    /// </code>
    /// </summary>
    /// <exception cref="FormatException">
    /// The text does not follow the grammar; the message names the step and what is wrong with it
    /// (e.g. <c>step 1 'widen(conv1 32': missing ')'</c>), quoting at most 80 characters of the text.
    /// </exception>
    public static MorphPlan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var plan = new MorphPlan();
        int position = 0;
        foreach (Match match in StepPattern().Matches(text))
        {
            var between = text[position..match.Index];
            if (between.Trim(Separators).Length > 0)
                throw Unparsed(between, position, plan.Steps.Count, text);
            plan.Add(ParseStep(match.Groups["name"].Value, match.Groups["args"].Value, plan.Steps.Count + 1, match.Value, text));
            position = match.Index + match.Length;
        }
        if (text[position..].Trim(Separators).Length > 0)
            throw Unparsed(text[position..], position, plan.Steps.Count, text);
        if (plan.Steps.Count == 0)
            throw new FormatException("Morph plan text has no steps; e.g. \"deepen(conv2) widen(conv1, 32)\".");
        return plan;
    }

    private static readonly char[] Separators = [' ', '\t', '\r', '\n', ',', ';'];

    /// <summary>
    /// Says what is wrong with text between (or after) the steps that parsed: a step that lacks a parenthesis or
    /// its name, or something that is no step at all.
    /// </summary>
    private static FormatException Unparsed(string raw, int start, int stepsBefore, string text)
    {
        var segment = raw.Trim(Separators);
        int open = segment.IndexOf('('), close = segment.IndexOf(')');
        string? problem =
            open == 0 ? "missing the morph name before '('"
            : open > 0 && (close < 0 || close < open) ? "missing ')'"
            : open > 0 && segment.IndexOf('(', open + 1) is var nested and >= 0 && nested < close ? "parentheses inside the arguments"
            : open < 0 && close > 0 ? "missing '(' after the morph name"
            : open < 0 && close < 0 && NamePattern().IsMatch(segment) ? $"missing '(' and ')': each step is name(arguments), e.g. {Quote(segment, 40)}(conv1)"
            : null;
        if (problem is not null)
            return new FormatException($"Morph plan text, step {stepsBefore + 1} '{Quote(segment)}': {problem}.{Context(segment, text)}");
        // Not a step at all: an extra ')', a stray symbol.
        var where = stepsBefore == 0 ? "before the first step" : $"after step {stepsBefore}";
        var what = close == 0 ? "unmatched ')'" : $"unexpected '{Quote(segment)}'";
        return new FormatException($"Morph plan text, {where} (position {start + raw.IndexOf(segment[0]) + 1}): {what}.{Context(segment, text)}");
    }

    /// <summary>At most <paramref name="limit"/> characters of user text, marked when cut.</summary>
    private static string Quote(string value, int limit = 80) => value.Length <= limit ? value : value[..(limit - 3)] + "...";

    /// <summary>The whole plan text (quoted), when the message did not already quote all of it.</summary>
    private static string Context(string quoted, string text) =>
        quoted.Trim() == text.Trim() ? "" : $" Plan: \"{Quote(text.Trim())}\"";

    private static MorphStep ParseStep(string name, string argumentText, int stepNumber, string stepText, string text)
    {
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var raw in argumentText.Split(',', StringSplitOptions.TrimEntries))
        {
            if (raw.Length == 0)
                throw Error("an empty argument");
            int equals = raw.IndexOf('=');
            if (equals < 0)
            {
                if (named.Count > 0)
                    throw Error($"positional argument '{Quote(raw)}' after a named one");
                positional.Add(raw);
            }
            else if (!named.TryAdd(raw[..equals].Trim(), raw[(equals + 1)..].Trim()))
            {
                throw Error($"'{Quote(raw[..equals].Trim())}' given twice");
            }
        }

        FormatException Error(string problem) =>
            new($"Morph plan text, step {stepNumber} '{Quote(stepText)}': {problem}.{Context(stepText, text)}");

        // "widen(conv1 32)": an argument with a space inside is two arguments without the ',' between them.
        string? MissingComma(string value) =>
            value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries) is { Length: > 1 } parts
                ? $"expected ',' between '{Quote(parts[0])}' and '{Quote(parts[1])}'"
                : null;

        void Expect(int min, int max, params string[] keys)
        {
            if (positional.Count < min || positional.Count > max)
            {
                throw Error(positional.Select(MissingComma).FirstOrDefault(p => p is not null)
                    ?? (min == max ? $"expected {min} positional argument(s), got {positional.Count}" : $"expected {min} to {max} positional arguments, got {positional.Count}"));
            }
            foreach (var key in named.Keys.Where(k => !keys.Contains(k)))
                throw Error($"unknown option '{Quote(key)}'" + (keys.Length > 0 ? $"; valid: {string.Join(", ", keys)}" : ""));
        }

        int Int(string value, string what) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) ? result
            : throw Error(MissingComma(value) ?? $"{what} must be an integer, got '{Quote(value)}'");

        TEnum Enum<TEnum>(string value, string what) where TEnum : struct, Enum =>
            System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var result) && System.Enum.IsDefined(result) ? result
            : throw Error(MissingComma(value) ?? $"{what} must be one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}, got '{Quote(value)}'");

        switch (name)
        {
            case "deepen":
                Expect(1, 1, "kernel", "width", "activation", "method");
                return new DeepenStep(positional[0],
                    named.TryGetValue("kernel", out var k) ? Int(k, "kernel") : 1,
                    named.TryGetValue("width", out var w) ? Int(w, "width") : null,
                    named.TryGetValue("activation", out var a) ? Enum<ActivationKind>(a, "activation") : null,
                    named.TryGetValue("method", out var m) ? Enum<DeepenMethod>(m, "method") : DeepenMethod.NetMorph);
            case "widen":
                Expect(2, 2);
                return new WidenStep(positional[0], Int(positional[1], "the new width"));
            case "kernel":
                Expect(2, 2);
                return new EnlargeKernelStep(positional[0], Int(positional[1], "the new kernel size"));
            case "branch":
                Expect(1, 2);
                return new AddBranchStep(positional[0], positional.Count == 2 ? Int(positional[1], "the branch kernel size") : 1);
            case "skip":
                Expect(2, 2);
                return new AddSkipStep(positional[0], positional[1]);
            case "bn":
                Expect(1, 1);
                return new InsertBatchNormStep(positional[0]);
            default:
                throw Error("unknown morph; known: deepen, widen, kernel, branch, skip, bn");
        }
    }

    [GeneratedRegex(@"(?<name>[A-Za-z_][A-Za-z0-9_]*)\s*\((?<args>[^()]*)\)")]
    private static partial Regex StepPattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex NamePattern();
}
