// The plan text form: "deepen(conv2) widen(conv1, 32) kernel(conv2, 5)" read with the shared call grammar, each step reading its own call.
using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Morphs;

public sealed partial class MorphPlan
{
    /// <summary>The most characters a plan's text may have (checked before parsing).</summary>
    public const int MaxTextLength = 64 * 1024;

    /// <summary>The most steps a plan may have: parsed, read from JSON or applied.</summary>
    public const int MaxSteps = 1_000;

    /// <summary>Plan text separates arguments with a comma and a space: <c>widen(conv1, 32)</c>.</summary>
    internal const string Comma = ", ";

    // The steps registered on MorphStep (its [JsonDerivedType] list) by type, with their names: the JSON name is the text name.
    private static readonly Dictionary<Type, string> StepNames = typeof(MorphStep).GetCustomAttributes<JsonDerivedTypeAttribute>(inherit: false)
        .ToDictionary(a => a.DerivedType, a => a.TypeDiscriminator as string ?? throw new InvalidOperationException($"{a.DerivedType.Name} has no JSON name."));

    // Name -> reader.
    private static readonly Dictionary<string, Func<CallReader, MorphStep>> StepReaders = KindReaders();

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
    /// The grammar is the network text's (<see cref="CallParser"/>, linear time), with flat arguments.
    /// </summary>
    /// <exception cref="FormatException">
    /// The text does not follow the grammar; the message names the step and what is wrong with it
    /// (e.g. <c>step 1 'widen(conv1 32': missing ')'</c>), quoting at most 80 characters of the text.
    /// </exception>
    public static MorphPlan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxTextLength)
            throw new FormatException($"Morph plan text is {text.Length:N0} characters long; the limit is {MaxTextLength:N0} ({MaxSteps:N0} steps at most).");
        var plan = new MorphPlan();
        int stepStart = 0;
        // Steps have flat arguments: one level of parentheses.
        var parser = new CallParser(text, maxDepth: 1, e => SyntaxError(e, plan.Steps.Count + 1, stepStart, text));
        while (true)
        {
            while (parser.TrySkip(',') || parser.TrySkip(';'))
            {
            }
            if (parser.AtEnd)
                break;
            stepStart = parser.Position;
            if (!parser.NextIsAtom || !IsName(parser.NextToken()))
                throw NotAStep(parser, plan.Steps.Count, text);
            if (plan.Steps.Count == MaxSteps)
                throw new FormatException($"Morph plan text has more than {MaxSteps:N0} steps (the limit); step {MaxSteps + 1} starts at position {stepStart + 1}.");
            var call = parser.Call();
            if (!call.HasParentheses)
                throw MissingParentheses(call, plan.Steps.Count + 1, text);
            plan.Add(ReadStep(call, plan.Steps.Count + 1, text));
        }
        if (plan.Steps.Count == 0)
            throw new FormatException("Morph plan text has no steps; e.g. \"deepen(conv2) widen(conv1, 32)\".");
        return plan;
    }

    /// <summary>The plan text name of a step type (its JSON name).</summary>
    internal static string StepName(Type step) => StepNames[step];

    private static MorphStep ReadStep(TextCall call, int number, string text)
    {
        FormatException Error(string problem) => StepError(number, call.Text, problem, text);
        if (call.Key is not null || call.Label is not null || call.Marked)
            throw Error("a step is name(arguments), with no 'label:', 'key=' or '*'");
        if (!StepReaders.TryGetValue(call.Name, out var read))
            throw Error($"unknown morph; known: {string.Join(", ", StepReaders.Keys)}");
        return read(new CallReader(call, (_, problem) => Error(problem)));
    }

    private static FormatException StepError(int number, string step, string problem, string text) =>
        new($"Morph plan text, step {number} '{TextQuote.Of(step)}': {problem}.{Context(step, text)}");

    // A syntax error inside step `number`, which starts at `start`.
    private static FormatException SyntaxError(SyntaxError error, int number, int start, string text) => error.Problem switch
    {
        SyntaxProblem.TooDeep => StepError(number, StepText(text, start), "parentheses inside the arguments", text),
        _ => StepError(number, StepText(text, start), error.Message, text),
    };

    // Something that cannot start a step: a parenthesis, a symbol.
    private static FormatException NotAStep(CallParser parser, int stepsBefore, string text)
    {
        int position = parser.Position;
        if (parser.NextToken() == "(")
            return StepError(stepsBefore + 1, StepText(text, position), "missing the morph name before '('", text);
        var where = stepsBefore == 0 ? "before the first step" : $"after step {stepsBefore}";
        return new FormatException($"Morph plan text, {where} (position {position + 1}): {parser.UnexpectedMessage()}.{Context(parser.NextToken(), text)}");
    }

    // A name with no '(' after it: "widen conv1, 32)" lacks the '(', "widen" alone both parentheses.
    private static FormatException MissingParentheses(TextCall call, int number, string text)
    {
        int next = text.IndexOfAny(['(', ')'], call.End);
        return next >= 0 && text[next] == ')'
            ? StepError(number, text[call.Start..(next + 1)], "missing '(' after the morph name", text)
            : StepError(number, call.Text, $"missing '(' and ')': each step is name(arguments), e.g. {TextQuote.Of(call.Name, 40)}(conv1)", text);
    }

    // The text of the step starting at `start`: up to the ')' that closes its first '(', or to the end.
    private static string StepText(string text, int start)
    {
        int depth = 0;
        for (int i = start; i < text.Length; i++)
        {
            if (text[i] == '(')
                depth++;
            else if (text[i] == ')' && --depth <= 0)
                return text[start..(i + 1)];
        }
        return text[start..].TrimEnd();
    }

    /// <summary>The whole plan text (quoted), when the message did not already quote all of it.</summary>
    private static string Context(string quoted, string text) =>
        quoted.Trim() == text.Trim() ? "" : $" Plan: \"{TextQuote.Of(text.Trim())}\"";

    private static bool IsName(string token) => (char.IsAsciiLetter(token[0]) || token[0] == '_') && token.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static Dictionary<string, Func<CallReader, MorphStep>> KindReaders()
    {
        var readers = new Dictionary<string, Func<CallReader, MorphStep>>(StringComparer.Ordinal);
        var readerOf = typeof(MorphPlan).GetMethod(nameof(ReaderOf), BindingFlags.NonPublic | BindingFlags.Static)!;
        foreach (var step in StepNames.Keys)
        {
            if (!step.IsAssignableTo(typeof(IStepText)))
                throw new InvalidOperationException($"Morph step {step.Name} has no text form: it must implement {nameof(IStepText)}.");
            readers.Add(StepName(step), (Func<CallReader, MorphStep>)readerOf.MakeGenericMethod(step).Invoke(null, null)!);
        }
        return readers;
    }

    private static Func<CallReader, MorphStep> ReaderOf<TStep>() where TStep : MorphStep, IStepText => TStep.Read;
}
