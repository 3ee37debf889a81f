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
    /// <exception cref="FormatException">The text does not follow the grammar (the message gives the position).</exception>
    public static MorphPlan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var plan = new MorphPlan();
        int position = 0;
        foreach (Match match in StepPattern().Matches(text))
        {
            var between = text[position..match.Index];
            if (between.Trim(' ', '\t', '\r', '\n', ',', ';').Length > 0)
                throw new FormatException($"Morph plan text, position {position + 1}: unexpected '{between.Trim()}'. Text: \"{text}\"");
            plan.Add(ParseStep(match.Groups["name"].Value, match.Groups["args"].Value, match.Index, text));
            position = match.Index + match.Length;
        }
        if (text[position..].Trim(' ', '\t', '\r', '\n', ',', ';').Length > 0)
            throw new FormatException($"Morph plan text, position {position + 1}: unexpected '{text[position..].Trim()}'. Text: \"{text}\"");
        if (plan.Steps.Count == 0)
            throw new FormatException("Morph plan text has no steps; e.g. \"deepen(conv2) widen(conv1, 32)\".");
        return plan;
    }

    private static MorphStep ParseStep(string name, string argumentText, int index, string text)
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
                    throw Error($"positional argument '{raw}' after a named one");
                positional.Add(raw);
            }
            else if (!named.TryAdd(raw[..equals].Trim(), raw[(equals + 1)..].Trim()))
            {
                throw Error($"'{raw[..equals].Trim()}' given twice");
            }
        }

        FormatException Error(string problem) =>
            new($"Morph plan text, position {index + 1} ({name}): {problem}. Text: \"{text}\"");

        void Expect(int min, int max, params string[] keys)
        {
            if (positional.Count < min || positional.Count > max)
                throw Error(min == max ? $"expected {min} positional argument(s), got {positional.Count}" : $"expected {min} to {max} positional arguments, got {positional.Count}");
            foreach (var key in named.Keys.Where(k => !keys.Contains(k)))
                throw Error($"unknown option '{key}'" + (keys.Length > 0 ? $"; valid: {string.Join(", ", keys)}" : ""));
        }

        int Int(string value, string what) =>
            int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int result) ? result : throw Error($"{what} must be an integer, got '{value}'");

        TEnum Enum<TEnum>(string value, string what) where TEnum : struct, Enum =>
            System.Enum.TryParse<TEnum>(value, ignoreCase: true, out var result) && System.Enum.IsDefined(result) ? result
            : throw Error($"{what} must be one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}, got '{value}'");

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
}
