// The compact text form of a network description: grammar, parser and printer.
using System.Collections.Immutable;
using System.Globalization;
using System.Text;

namespace Microsoft.ML.Morphism.Networks;

/// <summary>
/// The text form, e.g. <c>input(1,28,28) conv(16,3) relu maxpool(2) flatten dense(10)</c>.
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
/// Defaults are omitted when printing; conv padding defaults to "same" (dilation·(k−1)/2) for odd
/// kernels and 0 for even ones.
/// </summary>
internal static class NetworkText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static NetworkDescription Parse(string text, TensorShape? input)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        var declared = parser.TryInput();
        if (declared is { } d && input is { } i && d != i)
            throw parser.Error($"the text declares input {d} but {i} was expected");
        var shape = declared ?? input ?? throw parser.Error("no input shape: start with input(c,h,w) or input(n), or pass the input shape");
        var layers = parser.Sequence(topLevel: true);
        parser.End();
        if (layers.IsEmpty)
            throw parser.Error("no layers");
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
        var defaults = DefaultNaming.Defaults(network.Layers);
        var text = new StringBuilder();
        if (includeInput)
            text.Append("input(").Append(string.Join(",", network.Input.Dimensions)).Append(") ");
        PrintSequence(text, network.Layers, defaults);
        return text.ToString();
    }

    private static void PrintSequence(StringBuilder text, ImmutableArray<Layer> layers, Dictionary<string, string> defaults)
    {
        for (int i = 0; i < layers.Length; i++)
        {
            if (i > 0)
                text.Append(' ');
            var layer = layers[i];
            if (defaults[layer.Name] != layer.Name)
                text.Append(layer.Name).Append(':');
            PrintBody(text, layer, defaults);
            if (layer.Morphed)
                text.Append('*');
        }
    }

    private static void PrintBody(StringBuilder text, Layer layer, Dictionary<string, string> defaults)
    {
        switch (layer)
        {
            case Conv2dLayer c:
                text.Append(Invariant, $"conv({c.OutChannels},{c.KernelSize}");
                if (c.Stride != 1) text.Append(Invariant, $",stride={c.Stride}");
                if (c.Padding != Conv2dLayer.SamePadding(c.KernelSize, c.Dilation)) text.Append(Invariant, $",pad={c.Padding}");
                if (c.Dilation != 1) text.Append(Invariant, $",dilation={c.Dilation}");
                if (c.Groups != 1) text.Append(Invariant, $",groups={c.Groups}");
                if (!c.Bias) text.Append(",bias=false");
                text.Append(')');
                break;
            case DenseLayer d:
                text.Append(Invariant, $"dense({d.Units}").Append(d.Bias ? ")" : ",bias=false)");
                break;
            case ActivationLayer a:
                text.Append(a.Keyword);
                break;
            case Pool2dLayer p:
                text.Append(p.Pool == PoolKind.Max ? "maxpool(" : "avgpool(").Append(p.KernelSize.ToString(Invariant));
                if (p.Stride != p.KernelSize) text.Append(Invariant, $",stride={p.Stride}");
                if (p.Padding != 0) text.Append(Invariant, $",pad={p.Padding}");
                text.Append(')');
                break;
            case GlobalAvgPoolLayer:
                text.Append("gap");
                break;
            case BatchNormLayer bn:
                text.Append("bn");
                var options = new List<string>();
                if (bn.Epsilon != 1e-5) options.Add("eps=" + bn.Epsilon.ToString("R", Invariant));
                if (bn.Momentum != 0.1) options.Add("momentum=" + bn.Momentum.ToString("R", Invariant));
                if (options.Count > 0) text.Append('(').Append(string.Join(",", options)).Append(')');
                break;
            case DropoutLayer dr:
                text.Append("dropout(").Append(dr.Rate.ToString("R", Invariant)).Append(')');
                break;
            case FlattenLayer:
                text.Append("flatten");
                break;
            case ParallelLayer par:
                text.Append("parallel(");
                for (int b = 0; b < par.Branches.Length; b++)
                {
                    if (b > 0) text.Append(" | ");
                    PrintSequence(text, par.Branches[b], defaults);
                }
                text.Append(')');
                break;
            case SkipLayer s:
                text.Append("skip(").Append(s.From).Append(')');
                break;
            default:
                throw new InvalidOperationException($"No text form for layer kind {layer.GetType().Name}.");
        }
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        public FormatException Error(string message) =>
            new($"Network text, position {_pos + 1}: {message}. Text: \"{text}\"");

        public TensorShape? TryInput()
        {
            SkipSpace();
            int save = _pos;
            if (Word() != "input")
            {
                _pos = save;
                return null;
            }
            Expect('(');
            var dims = new List<int> { Int("an input dimension") };
            while (TryChar(','))
                dims.Add(Int("an input dimension"));
            Expect(')');
            try
            {
                return dims.Count switch
                {
                    3 => TensorShape.Image(dims[0], dims[1], dims[2]),
                    1 => TensorShape.Vector(dims[0]),
                    _ => throw Error($"input needs 3 dimensions (c,h,w) or 1 (n), got {dims.Count}"),
                };
            }
            catch (ArgumentException e)
            {
                throw Error(e.Message);
            }
        }

        public ImmutableArray<Layer> Sequence(bool topLevel)
        {
            var layers = ImmutableArray.CreateBuilder<Layer>();
            while (true)
            {
                SkipSpace();
                if (_pos >= text.Length || (!topLevel && (Peek() == '|' || Peek() == ')')))
                    return layers.ToImmutable();
                layers.Add(Layer());
            }
        }

        public void End()
        {
            SkipSpace();
            if (_pos < text.Length)
                throw Error($"unexpected '{text[_pos]}'");
        }

        private Layer Layer()
        {
            int start = _pos;
            var word = Word();
            if (word.Length == 0)
                throw Error($"expected a layer, found '{text[_pos]}'");
            string name = "";
            if (TryChar(':'))
            {
                name = word;
                word = Word();
                if (word.Length == 0)
                    throw Error($"expected a layer kind after '{name}:'");
            }
            var layer = Body(word, name, start);
            if (TryChar('*'))
                layer = layer with { Morphed = true };
            return layer;
        }

        private Layer Body(string word, string name, int start)
        {
            switch (word)
            {
                case "conv":
                {
                    Expect('(');
                    int outChannels = Int("the number of output channels");
                    Expect(',');
                    int kernel = Int("the kernel size");
                    var options = Options("stride", "pad", "dilation", "groups", "bias");
                    int dilation = IntOption(options, "dilation", 1);
                    int padding = options.TryGetValue("pad", out var pad)
                        ? pad switch
                        {
                            "same" => kernel % 2 == 1 ? Conv2dLayer.SamePadding(kernel, dilation) : throw Error("pad=same needs an odd kernel"),
                            "valid" => 0,
                            _ => ParseInt(pad, "pad"),
                        }
                        : Conv2dLayer.SamePadding(kernel, dilation);
                    return new Conv2dLayer(name, outChannels, kernel, IntOption(options, "stride", 1), padding, dilation,
                        IntOption(options, "groups", 1), BoolOption(options, "bias", true));
                }
                case "dense":
                {
                    Expect('(');
                    int units = Int("the number of units");
                    var options = Options("bias");
                    return new DenseLayer(name, units, BoolOption(options, "bias", true));
                }
                case "maxpool":
                case "avgpool":
                {
                    Expect('(');
                    int kernel = Int("the pooling window size");
                    var options = Options("stride", "pad");
                    return new Pool2dLayer(name, word == "maxpool" ? PoolKind.Max : PoolKind.Average, kernel,
                        IntOption(options, "stride", kernel), IntOption(options, "pad", 0));
                }
                case "gap":
                    return new GlobalAvgPoolLayer(name);
                case "flatten":
                    return new FlattenLayer(name);
                case "bn":
                {
                    var options = TryChar('(') ? Options(leadingComma: false, "eps", "momentum") : [];
                    return new BatchNormLayer(name, DoubleOption(options, "eps", 1e-5), DoubleOption(options, "momentum", 0.1));
                }
                case "dropout":
                {
                    Expect('(');
                    double rate = ParseDouble(Token("the dropout rate"), "rate");
                    Expect(')');
                    return new DropoutLayer(name, rate);
                }
                case "parallel":
                {
                    Expect('(');
                    var branches = ImmutableArray.CreateBuilder<ImmutableArray<Layer>>();
                    do
                    {
                        var branch = Sequence(topLevel: false);
                        if (branch.IsEmpty)
                            throw Error("empty parallel branch");
                        branches.Add(branch);
                    }
                    while (TryChar('|'));
                    Expect(')');
                    return new ParallelLayer(name, branches.ToImmutable());
                }
                case "skip":
                {
                    Expect('(');
                    var from = Word();
                    if (from.Length == 0)
                        throw Error("skip needs the name of its source layer");
                    Expect(')');
                    return new SkipLayer(name, from);
                }
                default:
                    if (TryActivation(word, out var kind, out bool parametric))
                        return new ActivationLayer(name, kind, parametric);
                    _pos = start;
                    throw Error($"unknown layer kind '{word}'; known: conv, dense, relu, tanh, sigmoid, elu, gelu (p-prefixed: prelu, ...), maxpool, avgpool, gap, bn, dropout, flatten, parallel, skip");
            }
        }

        private static bool TryActivation(string word, out ActivationKind kind, out bool parametric)
        {
            foreach (var candidate in Enum.GetValues<ActivationKind>())
            {
                var keyword = candidate.ToString().ToLowerInvariant();
                if (word == keyword || word == "p" + keyword)
                {
                    kind = candidate;
                    parametric = word.Length > keyword.Length;
                    return true;
                }
            }
            kind = default;
            parametric = false;
            return false;
        }

        // Parses ", key=value ... )" after the positional arguments (the opening parenthesis is already read).
        private Dictionary<string, string> Options(params string[] keys) => Options(leadingComma: true, keys);

        private Dictionary<string, string> Options(bool leadingComma, params string[] keys)
        {
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            bool first = !leadingComma;
            while (!TryChar(')'))
            {
                if (!first)
                    Expect(',');
                first = false;
                var key = Word();
                if (!keys.Contains(key))
                    throw Error($"unknown option '{key}'; valid here: {string.Join(", ", keys)}");
                Expect('=');
                if (!options.TryAdd(key, Token($"a value for {key}")))
                    throw Error($"option '{key}' given twice");
            }
            return options;
        }

        private int IntOption(Dictionary<string, string> options, string key, int fallback) =>
            options.TryGetValue(key, out var v) ? ParseInt(v, key) : fallback;

        private double DoubleOption(Dictionary<string, string> options, string key, double fallback) =>
            options.TryGetValue(key, out var v) ? ParseDouble(v, key) : fallback;

        private bool BoolOption(Dictionary<string, string> options, string key, bool fallback) =>
            !options.TryGetValue(key, out var v) ? fallback
            : v switch { "true" => true, "false" => false, _ => throw Error($"{key} must be true or false, got '{v}'") };

        private int ParseInt(string value, string what) =>
            int.TryParse(value, NumberStyles.Integer, Invariant, out int result) ? result : throw Error($"{what} must be an integer, got '{value}'");

        private double ParseDouble(string value, string what) =>
            double.TryParse(value, NumberStyles.Float, Invariant, out double result) ? result : throw Error($"{what} must be a number, got '{value}'");

        private int Int(string what) => ParseInt(Token(what), what);

        private string Token(string what)
        {
            SkipSpace();
            int start = _pos;
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is '.' or '-' or '+' or '_'))
                _pos++;
            if (_pos == start)
                throw Error($"expected {what}");
            return text[start.._pos];
        }

        private string Word()
        {
            SkipSpace();
            int start = _pos;
            while (_pos < text.Length && (char.IsAsciiLetterOrDigit(text[_pos]) || text[_pos] == '_'))
                _pos++;
            return text[start.._pos];
        }

        private char Peek() => text[_pos];

        private bool TryChar(char c)
        {
            SkipSpace();
            if (_pos < text.Length && text[_pos] == c)
            {
                _pos++;
                return true;
            }
            return false;
        }

        private void Expect(char c)
        {
            if (!TryChar(c))
                throw Error(_pos < text.Length ? $"expected '{c}', found '{text[_pos]}'" : $"expected '{c}' at the end");
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
                _pos++;
        }
    }
}
