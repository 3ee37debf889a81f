// When a training run grows its network: "epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)", as text, JSON or a fluent builder.
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Training;

/// <summary>One growth point: after <paramref name="Epoch"/> epochs are done, the network is morphed by <paramref name="Plan"/>.</summary>
/// <param name="Epoch">The number of finished epochs at which the plan is applied (1 or more); training continues with epoch <c>Epoch + 1</c>.</param>
/// <param name="Plan">The morphs, in the plan grammar (<see cref="MorphPlan"/>).</param>
public sealed record GrowthPoint(int Epoch, MorphPlan Plan)
{
    /// <summary>The text form of this point: <c>epoch 3: widen(conv1, 32) deepen(conv2)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"epoch {Epoch}: {Plan}");
}

/// <summary>
/// When a training run grows its network: growth points in increasing epoch order, each a <see cref="MorphPlan"/>
/// applied after that many epochs (<c>epoch 3:</c> runs before epoch 4 starts). Each growth is exact and verified, the
/// optimizer state is carried by each morph's rule, and the learning-rate schedule continues over the whole run (see
/// <see cref="NetworkTrainer.Train"/>). Built fluently, <c>new GrowthSchedule().At(3, p =&gt; p.Widen("conv1", 32)).At(6, p =&gt; p.Deepen("conv2"))</c>,
/// or parsed from the text form <see cref="ToString"/> prints.
/// </summary>
public sealed class GrowthSchedule
{
    private readonly List<GrowthPoint> _points = [];

    /// <summary>An empty schedule (no growth).</summary>
    public GrowthSchedule()
    {
    }

    /// <summary>A schedule of the given points (any order; the epochs must differ).</summary>
    public GrowthSchedule(IEnumerable<GrowthPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        foreach (var point in points)
            Add(point);
    }

    /// <summary>The growth points in increasing epoch order.</summary>
    public IReadOnlyList<GrowthPoint> Points => _points;

    /// <summary>Adds a growth point after <paramref name="epoch"/> epochs (1 or more; one point per epoch).</summary>
    public GrowthSchedule At(int epoch, MorphPlan plan) => Add(new GrowthPoint(epoch, plan));

    /// <summary>Adds a growth point after <paramref name="epoch"/> epochs, its plan built by <paramref name="build"/>.</summary>
    public GrowthSchedule At(int epoch, Func<MorphPlan, MorphPlan> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        return At(epoch, build(new MorphPlan()));
    }

    /// <summary>Adds a growth point.</summary>
    public GrowthSchedule Add(GrowthPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        ArgumentNullException.ThrowIfNull(point.Plan);
        if (point.Epoch < 1)
            throw new ArgumentException($"Growth point '{TextQuote.Of(point.ToString())}': the epoch must be 1 or more (growth happens after that many epochs are done).");
        if (point.Plan.Steps.Count == 0)
            throw new ArgumentException($"Growth point at epoch {point.Epoch} has no morphs.");
        if (_points.Any(p => p.Epoch == point.Epoch))
            throw new ArgumentException($"Growth schedule has two points at epoch {point.Epoch}; put all of that epoch's morphs in one plan.");
        int index = _points.FindIndex(p => p.Epoch > point.Epoch);
        _points.Insert(index < 0 ? _points.Count : index, point);
        return this;
    }

    /// <summary>The plan to apply after <paramref name="epoch"/> epochs, or null.</summary>
    public MorphPlan? PlanAfter(int epoch) => _points.FirstOrDefault(p => p.Epoch == epoch)?.Plan;

    /// <summary>Throws an <see cref="ArgumentException"/> when a point is not before the last epoch of a run of <paramref name="maxEpoch"/> epochs.</summary>
    public void Validate(int maxEpoch)
    {
        if (_points.FirstOrDefault(p => p.Epoch >= maxEpoch) is { } late)
            throw new ArgumentException($"Growth point '{TextQuote.Of(late.ToString())}' is not before the run's last epoch ({maxEpoch}): " +
                "a network grown after its last epoch would never be trained. Use an epoch below MaxEpoch.");
    }

    /// <summary>The text form: points separated by <c>"; "</c>, e.g. <c>epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)</c>.</summary>
    public override string ToString() => string.Join("; ", _points);

    /// <summary>
    /// Parses the text form: entries <c>epoch N: &lt;plan&gt;</c> separated by <c>;</c> (a trailing <c>;</c> is allowed),
    /// each plan in the morph plan grammar (<see cref="MorphPlan.Parse"/>). In a schedule <c>;</c> always ends an entry,
    /// so separate a point's morphs with spaces or commas.
    /// </summary>
    /// <exception cref="FormatException">
    /// The text does not follow the form; the message names the entry (its number, and at most 80 characters of it) and
    /// what is wrong, e.g. <c>Growth schedule, entry 2 'deepen(conv2)': expected 'epoch N: morphs'</c>.
    /// </exception>
    public static GrowthSchedule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
            throw new FormatException("Growth schedule text has no entries; e.g. \"epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)\".");
        var schedule = new GrowthSchedule();
        var entries = SplitEntries(text);
        for (int i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            bool last = i == entries.Count - 1;
            if (string.IsNullOrWhiteSpace(entry))
            {
                if (last && i > 0)
                    break; // a trailing ';'
                throw Error(i + 1, entry, "empty entry; entries are 'epoch N: morphs' separated by ';'", text);
            }
            var (epoch, planText) = ReadEntry(i + 1, entry, text);
            MorphPlan plan;
            try
            {
                plan = MorphPlan.Parse(planText);
            }
            catch (FormatException e)
            {
                throw Error(i + 1, entry, e.Message, text, e);
            }
            if (schedule._points.Any(p => p.Epoch == epoch))
                throw Error(i + 1, entry, $"epoch {epoch} already has an entry; put all of that epoch's morphs in one entry", text);
            schedule.Add(new GrowthPoint(epoch, plan));
        }
        return schedule;
    }

    /// <summary>The JSON form: <c>[{"epoch": 3, "plan": [steps as in <see cref="MorphPlan.ToJson"/>]}, ...]</c>.</summary>
    public string ToJson() =>
        JsonSerializer.Serialize(_points.Select(p => new JsonPoint { Epoch = p.Epoch, Plan = [.. p.Plan.Steps] }).ToList(), MorphPlan.JsonOptions);

    /// <summary>Reads the JSON form.</summary>
    /// <exception cref="FormatException">The JSON is malformed, names an unknown morph or breaks a rule of <see cref="Add"/>.</exception>
    public static GrowthSchedule FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            var points = JsonSerializer.Deserialize<List<JsonPoint>>(json, MorphPlan.JsonOptions);
            if (points is null || points.Any(p => p is null || p.Plan.Any(s => s is null)))
                throw new FormatException("Growth schedule JSON is not valid: null entry.");
            return new GrowthSchedule(points.Select(p => new GrowthPoint(p.Epoch, new MorphPlan(p.Plan))));
        }
        catch (JsonException e)
        {
            throw new FormatException($"Growth schedule JSON is not valid: {e.Message}", e);
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Growth schedule JSON is not valid: {e.Message}", e);
        }
    }

    private sealed class JsonPoint
    {
        public int Epoch { get; init; }
        public List<MorphStep> Plan { get; init; } = [];
    }

    // Entries end at ';' outside parentheses (a ';' inside a step's arguments is the plan parser's error to report).
    private static List<string> SplitEntries(string text)
    {
        var entries = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '(')
                depth++;
            else if (text[i] == ')' && depth > 0)
                depth--;
            else if (text[i] == ';' && depth == 0)
            {
                entries.Add(text[start..i]);
                start = i + 1;
            }
        }
        entries.Add(text[start..]);
        return entries;
    }

    // "epoch N: plan" -> (N, plan).
    private static (int Epoch, string Plan) ReadEntry(int number, string entry, string text)
    {
        const string Expected = "expected 'epoch N: morphs', e.g. 'epoch 3: widen(conv1, 32)'";
        var trimmed = entry.TrimStart();
        if (!trimmed.StartsWith("epoch", StringComparison.Ordinal) || trimmed.Length == 5 || !char.IsWhiteSpace(trimmed[5]))
            throw Error(number, entry, Expected, text);
        var rest = trimmed[5..].TrimStart();
        int digits = 0;
        while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            digits++;
        if (digits == 0)
            throw Error(number, entry, "expected the epoch number after 'epoch', e.g. 'epoch 3: widen(conv1, 32)'", text);
        if (!int.TryParse(rest[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out int epoch) || epoch < 1)
            throw Error(number, entry, $"epoch '{TextQuote.Of(rest[..digits], 20)}' must be a whole number from 1 (growth happens after that many epochs)", text);
        var afterNumber = rest[digits..].TrimStart();
        if (afterNumber.Length == 0 || afterNumber[0] != ':')
            throw Error(number, entry, $"expected ':' after 'epoch {epoch}'", text);
        var plan = afterNumber[1..];
        if (string.IsNullOrWhiteSpace(plan))
            throw Error(number, entry, $"epoch {epoch} has no morphs after ':'", text);
        return (epoch, plan);
    }

    private static FormatException Error(int number, string entry, string problem, string text, Exception? inner = null)
    {
        var quoted = TextQuote.Of(entry.Trim());
        var whole = text.Trim() == entry.Trim() ? "" : $" Schedule: \"{TextQuote.Of(text.Trim())}\"";
        return new FormatException($"Growth schedule, entry {number} '{quoted}': {problem.TrimEnd('.')}.{whole}", inner);
    }
}
