// Text, JSON and summary forms of a network description.
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Networks;

public sealed partial class NetworkDescription
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase), new TensorShapeJsonConverter() },
        RespectNullableAnnotations = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        // Every network the text form allows must save: a parallel block nests three JSON levels (its object, its
        // branches, a branch), and the text allows NetworkText.MaxDepth of them; more is refused when read.
        MaxDepth = 3 * NetworkText.MaxDepth + 8,
    };

    /// <summary>Parses the text form (it must start with <c>input(...)</c>); see the grammar in the README / NetworkText.</summary>
    /// <exception cref="FormatException">The text does not follow the grammar or describes an invalid network.</exception>
    public static NetworkDescription Parse(string text) => NetworkText.Parse(text, null);

    /// <summary>Parses the text form for a given input shape (an <c>input(...)</c> prefix is optional and must agree).</summary>
    /// <exception cref="FormatException">The text does not follow the grammar or describes an invalid network.</exception>
    public static NetworkDescription Parse(string text, TensorShape input) => NetworkText.Parse(text, input);

    /// <summary>The text form, starting with <c>input(...)</c>; <see cref="Parse(string)"/> gives back an equal description.</summary>
    public override string ToString() => NetworkText.Print(this, includeInput: true);

    /// <summary>The text form of the layers alone (no <c>input(...)</c>).</summary>
    public string LayersToString() => NetworkText.Print(this, includeInput: false);

    /// <summary>The JSON form.</summary>
    public string ToJson() => JsonSerializer.Serialize(new JsonForm(CurrentJsonFormat, Input, Layers), JsonOptions);

    /// <summary>Reads the JSON form.</summary>
    /// <exception cref="FormatException">The JSON is malformed or describes an invalid network.</exception>
    public static NetworkDescription FromJson(string json)
    {
        JsonForm? form;
        try
        {
            form = JsonSerializer.Deserialize<JsonForm>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Network JSON is not valid: {e.Message}", e);
        }
        if (form is null || form.Layers.IsDefault)
            throw new FormatException("Network JSON is not valid: no layers.");
        if (form.Format != CurrentJsonFormat)
            throw new FormatException($"Network JSON has format {form.Format}; this version reads format {CurrentJsonFormat}.");
        if (form.Layers.Any(l => l is null))
            throw new FormatException("Network JSON is not valid: a layer is null.");
        try
        {
            return new NetworkDescription(form.Input, form.Layers);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Network JSON is not valid: {e.Message}", e);
        }
    }

    /// <summary>
    /// A Keras-like table: layer name and kind, output shape, parameter count and forward MACs per image
    /// per layer, layers a morph created marked with <c>*</c>, totals at the end (see <see cref="ForwardMacs"/>).
    /// </summary>
    public string Summary() => Summary(before: null);

    /// <summary>
    /// <see cref="Summary()"/>, also marking with <c>~</c> the layers that <paramref name="before"/> (e.g. the
    /// parent of a morph) has too but that changed: their settings (a widened conv, a larger kernel) or their
    /// parameter count (a dense layer whose input grew).
    /// </summary>
    public string Summary(NetworkDescription? before)
    {
        var rows = new List<(string Layer, string Shape, string Params, string Macs)>();
        AddRows(rows, Layers, "", before);
        int w1 = Math.Max(24, rows.Max(r => r.Layer.Length) + 2);
        int w2 = Math.Max(14, rows.Max(r => r.Shape.Length) + 2);
        int width = w1 + w2 + 12 + 14;
        var text = new StringBuilder();
        text.Append("Layer (kind)".PadRight(w1)).Append("Output shape".PadRight(w2)).Append("Params".PadLeft(12)).AppendLine("MACs".PadLeft(14));
        text.AppendLine(new string('=', width));
        text.Append("input".PadRight(w1)).Append(Input.ToString().PadRight(w2)).Append("0".PadLeft(12)).AppendLine("0".PadLeft(14));
        foreach (var (layer, shape, parameters, macs) in rows)
            text.Append(layer.PadRight(w1)).Append(shape.PadRight(w2)).Append(parameters.PadLeft(12)).AppendLine(macs.PadLeft(14));
        text.AppendLine(new string('=', width));
        text.AppendLine(CultureInfo.InvariantCulture, $"Total params: {ParameterCount:N0} (trainable {TrainableParameterCount:N0})");
        text.AppendLine(CultureInfo.InvariantCulture, $"MACs per image: {ForwardMacs:N0} forward, {TrainingMacsPerImage:N0} to train (forward + backward)");
        if (AllLayers().Any(l => l.Morphed))
            text.AppendLine("* created by a morph");
        if (before is not null && AllLayers().Any(l => ChangedSince(l, before)))
            text.AppendLine("~ changed compared with the network before");
        return text.ToString();
    }

    private long OwnParameterCount(string layer) => ParameterSpecs.Where(p => p.Layer == layer).Sum(p => p.Count);

    /// <summary>A layer <paramref name="before"/> has under the same name, with other settings or another parameter count.</summary>
    private bool ChangedSince(Layer layer, NetworkDescription before)
    {
        if (layer.Morphed || !before.Contains(layer.Name))
            return false;
        var old = before[layer.Name];
        // A parallel block's branches are compared layer by layer, so the block itself changes only in kind.
        bool settingsChanged = layer is ParallelLayer ? old is not ParallelLayer : !old.Equals(layer);
        return settingsChanged || before.OwnParameterCount(layer.Name) != OwnParameterCount(layer.Name);
    }

    private void AddRows(List<(string, string, string, string)> rows, ImmutableArray<Layer> layers, string indent, NetworkDescription? before)
    {
        foreach (var layer in layers)
        {
            long count = OwnParameterCount(layer.Name);
            var mark = layer.Morphed ? "* " : before is not null && ChangedSince(layer, before) ? "~ " : "  ";
            rows.Add(($"{mark}{indent}{layer.Name} ({KindLabel(layer)})", Shapes[layer.Name].Output.ToString(), count.ToString("N0", CultureInfo.InvariantCulture),
                LayerMacs(layer.Name).ToString("N0", CultureInfo.InvariantCulture)));
            if (layer is ParallelLayer parallel)
                for (int b = 0; b < parallel.Branches.Length; b++)
                {
                    rows.Add(($"  {indent}  branch {b + 1}", "", "", ""));
                    AddRows(rows, parallel.Branches[b], indent + "    ", before);
                }
        }
    }

    private static string KindLabel(Layer layer) => layer switch
    {
        Conv2dLayer c => $"conv {c.KernelSize}×{c.KernelSize}" + (c.Stride != 1 ? $"/{c.Stride}" : ""),
        DenseLayer => "dense",
        ActivationLayer a => a.Keyword,
        Pool2dLayer p => $"{p.DefaultNamePrefix} {p.KernelSize}×{p.KernelSize}",
        SkipLayer s => $"skip from {s.From}",
        _ => layer.DefaultNamePrefix,
    };

    private const int CurrentJsonFormat = 1;

    private sealed record JsonForm(int Format, TensorShape Input, ImmutableArray<Layer> Layers);

    private sealed class TensorShapeJsonConverter : JsonConverter<TensorShape>
    {
        public override TensorShape Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var dims = JsonSerializer.Deserialize<int[]>(ref reader, options) ?? throw new JsonException("a shape is null");
            try
            {
                return dims.Length switch
                {
                    3 => TensorShape.Image(dims[0], dims[1], dims[2]),
                    1 => TensorShape.Vector(dims[0]),
                    _ => throw new JsonException($"a shape needs 3 or 1 dimensions, got {dims.Length}"),
                };
            }
            catch (ArgumentException e)
            {
                throw new JsonException(e.Message, e);
            }
        }

        public override void Write(Utf8JsonWriter writer, TensorShape value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value.Dimensions.ToArray(), options);
    }
}
