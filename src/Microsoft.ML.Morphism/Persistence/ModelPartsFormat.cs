// How each stored part of a classifier (network, weights, labels, recipe, history) is encoded and validated.
using System.Text.Json;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Persistence;

/// <summary>
/// Encodings of the parts inside <see cref="ModelPart"/> envelopes. Every read validates sizes
/// against the bytes present before allocating, and content (shapes, finiteness, names) before any
/// tensor is created; failures are <see cref="InvalidDataException"/>s naming the part.
/// </summary>
internal static class ModelPartsFormat
{
    public const string NetworkPart = "Network";
    public const string WeightsPart = "Weights";
    public const string LabelsPart = "Labels";
    public const string RecipePart = "Recipe";
    public const string HistoryPart = "History";
    public const string LineagePart = "Lineage";

    /// <summary>Every part a classifier may store.</summary>
    public static readonly string[] AllParts = [NetworkPart, WeightsPart, LabelsPart, RecipePart, HistoryPart, LineagePart];

    private const int MaxTensors = 100_000;
    private const int MaxRank = 8;
    private const int MaxClasses = 1_000_000;
    private static readonly JsonSerializerOptions Json = MorphPlan.JsonOptions;

    public static void WriteNetwork(BinaryWriter w, NetworkDescription network) => WriteString(w, network.ToJson());

    public static NetworkDescription ReadNetwork(PayloadReader r)
    {
        var json = r.ReadString("network JSON", int.MaxValue);
        NetworkDescription network;
        try
        {
            network = NetworkDescription.FromJson(json);
        }
        catch (FormatException e)
        {
            throw r.Corrupt(e.Message, e);
        }
        // NetworkDescription checked it against NetworkLimits.Current (sizes, activations, MACs, parameters) before any tensor exists.
        return network;
    }

    public static void WriteWeights(BinaryWriter w, NetworkWeights weights)
    {
        w.Write((byte)weights.Precision);
        var keys = weights.Keys.ToList();
        w.Write(keys.Count);
        foreach (var key in keys)
        {
            var tensor = weights[key];
            WriteString(w, key);
            w.Write(tensor.Shape.Length);
            foreach (var d in tensor.Shape)
                w.Write(d);
            foreach (var v in tensor.Values)
            {
                if (weights.Precision == Precision.Float64)
                    w.Write(v);
                else
                    w.Write((float)v);
            }
        }
    }

    public static NetworkWeights ReadWeights(PayloadReader r, NetworkDescription network)
    {
        var precisionCode = r.ReadByte();
        if (precisionCode > (byte)Precision.Float64)
            throw r.Corrupt($"unknown precision code {precisionCode}");
        var precision = (Precision)precisionCode;
        int elementSize = precision == Precision.Float64 ? 8 : 4;
        int count = r.ReadCount("tensors", MaxTensors, 8);
        var tensors = new Dictionary<string, WeightTensor>(StringComparer.Ordinal);
        for (int t = 0; t < count; t++)
        {
            var key = r.ReadString("a tensor name", 4096);
            int rank = r.ReadCount($"dimensions for '{key}'", MaxRank, 8);
            var shape = new long[rank];
            long elements = 1;
            for (int i = 0; i < rank; i++)
            {
                shape[i] = r.ReadInt64();
                if (shape[i] < 0 || (shape[i] > 0 && elements > r.Remaining / shape[i]))
                    throw r.Corrupt($"tensor '{key}' claims shape [{string.Join(", ", shape.Take(i + 1))}], more values than the part holds");
                elements *= shape[i];
            }
            if (elements * elementSize > r.Remaining)
                throw r.Corrupt($"tensor '{key}' claims {elements} values but only {r.Remaining} bytes remain");
            var bytes = r.ReadBytes((int)(elements * elementSize));
            var values = new double[elements];
            for (int i = 0; i < values.Length; i++)
                values[i] = precision == Precision.Float64 ? BitConverter.ToDouble(bytes.Slice(i * 8, 8)) : BitConverter.ToSingle(bytes.Slice(i * 4, 4));
            if (!tensors.TryAdd(key, new WeightTensor(shape, values)))
                throw r.Corrupt($"tensor '{key}' appears twice");
        }
        var weights = new NetworkWeights(tensors, precision);
        try
        {
            weights.Validate(network);
        }
        catch (ArgumentException e)
        {
            throw r.Corrupt(e.Message, e);
        }
        return weights;
    }

    public static void WriteLabels(BinaryWriter w, IReadOnlyList<string> classNames)
    {
        w.Write(classNames.Count);
        foreach (var name in classNames)
            WriteString(w, name);
    }

    public static IReadOnlyList<string> ReadLabels(PayloadReader r, NetworkDescription network)
    {
        int count = r.ReadCount("class names", MaxClasses, 4);
        var names = new string[count];
        for (int i = 0; i < count; i++)
            names[i] = r.ReadString("a class name");
        if (count != network.Output.Size)
            throw r.Corrupt($"it lists {count} classes but the network outputs {network.Output.Size} scores");
        return names;
    }

    public static void WriteJson<T>(BinaryWriter w, T value) => WriteString(w, JsonSerializer.Serialize(value, Json));

    public static T ReadJson<T>(PayloadReader r) where T : class
    {
        var json = r.ReadString("JSON", int.MaxValue);
        try
        {
            return JsonSerializer.Deserialize<T>(json, Json) ?? throw r.Corrupt("it is empty");
        }
        catch (JsonException e)
        {
            throw r.Corrupt(e.Message, e);
        }
    }

    public static void WriteLineage(BinaryWriter w, SearchLineage lineage) => WriteString(w, lineage.ToJson());

    public static SearchLineage ReadLineage(PayloadReader r)
    {
        var json = r.ReadString("lineage JSON", int.MaxValue);
        try
        {
            return SearchLineage.FromJson(json);
        }
        catch (FormatException e)
        {
            throw r.Corrupt(e.Message, e);
        }
    }

    public static MorphableImageClassifierModelParameters.StoredHistory ReadHistory(PayloadReader r)
    {
        var history = ReadJson<MorphableImageClassifierModelParameters.StoredHistory>(r);
        if (history.Morphs is { Count: > MorphableImageClassifierModelParameters.MaxHistoryMorphs })
            throw r.Corrupt($"it lists {history.Morphs.Count:N0} morphs; a history holds at most {MorphableImageClassifierModelParameters.MaxHistoryMorphs:N0}");
        if (history.Training is { Count: > MorphableImageClassifierModelParameters.MaxHistoryEpochs })
            throw r.Corrupt($"it lists {history.Training.Count:N0} epochs; a history holds at most {MorphableImageClassifierModelParameters.MaxHistoryEpochs:N0}");
        return history;
    }

    public static TrainingRecipe ReadRecipe(PayloadReader r)
    {
        var recipe = ReadJson<TrainingRecipe>(r);
        try
        {
            recipe.Validate();
        }
        catch (ArgumentException e)
        {
            throw r.Corrupt(e.Message, e);
        }
        return recipe;
    }

    // BinaryWriter.Write(string) uses a 7-bit length prefix; ours is a plain Int32 so the reader can bound it.
    private static void WriteString(BinaryWriter w, string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value);
        w.Write(bytes.Length);
        w.Write(bytes);
    }
}
