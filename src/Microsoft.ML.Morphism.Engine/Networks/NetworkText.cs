// The compact text form of a network description: the input, layer names and marks around the calls each layer kind reads and writes.
using System.Collections.Immutable;
using System.Reflection;
using System.Text;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// The text form, e.g. <c>input(1,28,28) conv(16,3) relu maxpool(2) flatten dense(10)</c>, in the grammar of
/// <see cref="TextCall"/> (parsed by <see cref="CallParser"/>, at most <see cref="MaxDepth"/> nested parentheses):
/// <code>
/// network  := [ 'input' '(' int {',' int} ')' ] sequence
/// sequence := layer { layer }                    (layers separated by white space)
/// layer    := [ name ':' ] body [ '*' ]          ('*' marks a layer a morph created)
/// body     := 'conv' '(' out ',' kernel { ',' key '=' value } ')'   keys: stride=1, pad=same|valid|int,
///                                                                    dilation=1, groups=1, bias=true|false
///           | 'dense' '(' units [ ',' 'bias' '=' bool ] ')'
///           | 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'gelu'          ('p' prefix: P-activation, e.g. 'prelu')
///           | ('maxpool' | 'avgpool') '(' kernel { ',' key '=' value } ')'   keys: stride=kernel, pad=0
///           | 'gap' | 'flatten' | 'dropout' '(' rate ')'
///           | 'bn' [ '(' { key '=' value } ')' ]                      keys: eps=1e-5, momentum=0.1
///           | 'parallel' '(' sequence { '|' sequence } ')'           (branch outputs are summed)
///           | 'skip' '(' source ')'                                  (source: an earlier top-level layer or 'input')
/// name     := [A-Za-z_][A-Za-z0-9_]*             (default: the kind's prefix and a 1-based index)
/// </code>
/// Each body is read and written by its layer kind (<see cref="ILayerText"/>, <see cref="Layer.ToText"/>);
/// this class adds the input, the names and the marks. Defaults are omitted when printing; conv padding
/// defaults to "same" (dilation·(k−1)/2) for odd kernels and 0 for even ones.
/// </summary>
internal static class NetworkText
{
    /// <summary>The most parentheses that may nest (parallel blocks in parallel blocks), against stack exhaustion.</summary>
    public const int MaxDepth = 64;

    /// <summary>Network text separates arguments with a bare comma: <c>conv(16,3,stride=2)</c>.</summary>
    public const string Comma = ",";

    // Keyword -> reader, from the layer kinds registered on Layer (its [JsonDerivedType] list).
    private static readonly Dictionary<string, Func<LayerCall, Layer>> Readers = KindReaders();

    public static NetworkDescription Parse(string text, TensorShape? input)
    {
        ArgumentNullException.ThrowIfNull(text);
        FormatException Error(int position, string message) =>
            new($"Network text, position {position + 1}: {message}. Text: \"{TextQuote.Around(text, position)}\"");

        var calls = new CallParser(text, MaxDepth, e => Error(e.Position, e.Message)).Sequence();
        TensorShape? declared = null;
        if (calls.Length > 0 && calls[0] is { Name: "input", Key: null, Label: null, Marked: false } inputCall)
        {
            declared = ReadInput(new CallReader(inputCall, Error));
            calls = calls.RemoveAt(0);
        }
        if (declared is { } d && input is { } i && d != i)
            throw Error(0, $"the text declares input {d} but {i} was expected");
        var shape = declared ?? input ?? throw Error(0, "no input shape: start with input(c,h,w) or input(n), or pass the input shape");
        if (calls.IsEmpty)
            throw Error(text.Length, "no layers");
        var layers = ReadSequence(calls, Error);
        try
        {
            return new NetworkDescription(shape, DefaultNaming.Assign(layers));
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Network text is not valid: {e.Message}", e);
        }
    }

    public static string Print(NetworkDescription network, bool includeInput)
    {
        var text = new StringBuilder();
        if (includeInput)
            network.Input.Dimensions.Aggregate(new TextCall("input"), (call, d) => call.Add(d)).Write(text, Comma).Append(' ');
        var writer = new LayerWriter(DefaultNaming.Defaults(network.Layers));
        return TextCall.WriteSequence(text, writer.Sequence(network.Layers), Comma).ToString();
    }

    private static TensorShape ReadInput(CallReader call)
    {
        call.Expect(1, [.. Enumerable.Repeat("an input dimension", Math.Max(3, call.Call.Arguments.Length))]);
        if (call.Count is not (1 or 3))
            throw call.Error($"input needs 3 dimensions (c,h,w) or 1 (n), got {call.Count}");
        try
        {
            return call.Count == 3 ? TensorShape.Image(call.Int(0), call.Int(1), call.Int(2)) : TensorShape.Vector(call.Int(0));
        }
        catch (ArgumentException e)
        {
            throw call.Error(e.Message);
        }
    }

    private static ImmutableArray<Layer> ReadSequence(ImmutableArray<TextCall> calls, Func<int, string, Exception> error)
    {
        var layers = ImmutableArray.CreateBuilder<Layer>(calls.Length);
        foreach (var call in calls)
        {
            if (call.Key is not null)
                throw error(call.Start, $"unexpected '{TextQuote.Of(call.Key)}=' before a layer");
            if (!Readers.TryGetValue(call.Name, out var read))
            {
                throw error(call.ValueStart, call.Name == "input" ? "input(...) must come first"
                    : $"unknown layer kind '{TextQuote.Of(call.Name)}'; known: {string.Join(", ", Readers.Keys)}");
            }
            var layer = read(new LayerCall(call, error, branch => ReadSequence(branch, error)));
            layers.Add(call.Marked ? layer with { Morphed = true } : layer);
        }
        return layers.MoveToImmutable();
    }

    private static Dictionary<string, Func<LayerCall, Layer>> KindReaders()
    {
        var readers = new Dictionary<string, Func<LayerCall, Layer>>(StringComparer.Ordinal);
        var textOf = typeof(NetworkText).GetMethod(nameof(TextOf), BindingFlags.NonPublic | BindingFlags.Static)!;
        foreach (var kind in typeof(Layer).GetCustomAttributes<JsonDerivedTypeAttribute>(inherit: false).Select(a => a.DerivedType))
        {
            if (!kind.IsAssignableTo(typeof(ILayerText)))
                throw new InvalidOperationException($"Layer kind {kind.Name} has no text form: it must implement {nameof(ILayerText)}.");
            var (keywords, read) = ((IReadOnlyList<string>, Func<LayerCall, Layer>))textOf.MakeGenericMethod(kind).Invoke(null, null)!;
            foreach (var keyword in keywords)
                readers.Add(keyword, read);
        }
        return readers;
    }

    private static (IReadOnlyList<string>, Func<LayerCall, Layer>) TextOf<TLayer>() where TLayer : Layer, ILayerText => (TLayer.Keywords, TLayer.Read);
}

/// <summary>A call of a layer kind in the network text, as the kind reads it: its arguments, the layer's name and its branches.</summary>
internal sealed class LayerCall(TextCall call, Func<int, string, Exception> error, Func<ImmutableArray<TextCall>, ImmutableArray<Layer>> sequence)
    : CallReader(call, error)
{
    /// <summary>The layer's name: its label, or "" for a default name.</summary>
    public string Name => Call.Label ?? "";

    /// <summary><see cref="Name"/>, for a kind written without arguments (<c>relu</c>, <c>gap</c>); throws when the call has parentheses.</summary>
    public string NameWithoutArguments() => Call.HasParentheses ? throw Error($"'{Keyword}' takes no arguments") : Name;

    /// <summary>The branches <c>(a b | c)</c>, read as layer sequences.</summary>
    public ImmutableArray<ImmutableArray<Layer>> Layers() => [.. Branches().Select(sequence)];
}

/// <summary>Writes layers as calls: each kind its body (<see cref="Layer.ToText"/>), this its name when not the default, and its mark.</summary>
internal sealed class LayerWriter(Dictionary<string, string> defaults)
{
    /// <summary>The calls of a sequence of layers (the top level or a branch).</summary>
    public ImmutableArray<TextCall> Sequence(ImmutableArray<Layer> layers) =>
        [.. layers.Select(layer => layer.ToText(this) with { Label = defaults[layer.Name] != layer.Name ? layer.Name : null, Marked = layer.Morphed })];
}
