// The growth search's history: every trial with its parent, plan, cost and validation result, as a bounded tree.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Search;

/// <summary>What became of a trial.</summary>
public enum TrialStatus
{
    /// <summary>Trained and measured; not chosen.</summary>
    Trained,
    /// <summary>Trained and chosen as the incumbent of the next round (or the winner).</summary>
    Selected,
    /// <summary>Diverged during training; discarded.</summary>
    Diverged,
    /// <summary>The morph's verification showed a larger error than allowed; discarded untrained.</summary>
    NotExact,
}

/// <summary>What a trial was.</summary>
public enum TrialKind
{
    /// <summary>The starting network (trained for the initial epochs, or only measured).</summary>
    Start,
    /// <summary>A child of the round's incumbent.</summary>
    Child,
    /// <summary>The incumbent, trained for the round's epochs alongside its children.</summary>
    Incumbent,
    /// <summary>The winner's final training.</summary>
    Final,
}

/// <summary>One entry of the lineage.</summary>
/// <param name="Id">The trial's number (0 = the start).</param>
/// <param name="ParentId">The trial whose weights it started from (null for the start).</param>
/// <param name="Round">The round (0 = start, the last round + 1 = final training).</param>
/// <param name="Kind">What the trial was.</param>
/// <param name="Plan">The morphs that made it from its parent, plan text (empty when none).</param>
/// <param name="Network">The network, text form (cut to 2,000 characters).</param>
/// <param name="Parameters">Trainable parameters.</param>
/// <param name="MacsPerImage">Forward MACs per image.</param>
/// <param name="Epochs">Epochs trained.</param>
/// <param name="ValidationAccuracy">Validation accuracy after training (null when not trained).</param>
/// <param name="ValidationLoss">Validation loss after training (null when not trained).</param>
/// <param name="Macs">MACs this trial spent: morph verification and solver, training and validation.</param>
/// <param name="CumulativeMacs">MACs the whole search had spent when this trial ended.</param>
/// <param name="Seconds">Wall time of the trial.</param>
/// <param name="CumulativeSeconds">Wall time of the search when this trial ended.</param>
/// <param name="Status">What became of it.</param>
/// <param name="Note">Why it was discarded, or null.</param>
public sealed record TrialRecord(int Id, int? ParentId, int Round, TrialKind Kind, string Plan, string Network, long Parameters, long MacsPerImage,
    int Epochs, double? ValidationAccuracy, double? ValidationLoss, long Macs, long CumulativeMacs, double Seconds, double CumulativeSeconds,
    TrialStatus Status, string? Note)
{
    internal const int MaxText = 2_000;

    internal static string Cut(string text) => text.Length <= MaxText ? text : string.Concat(text.AsSpan(0, MaxText - 1), "…");
}

/// <summary>
/// The lineage tree of a search: trials in the order they ran, each pointing at its parent. Bounded: beyond
/// the limit, the oldest entries that are neither selected nor an ancestor of a kept entry are dropped first.
/// </summary>
public sealed class SearchLineage
{
    /// <summary>The most entries a stored lineage may hold (a saved model refuses more).</summary>
    public const int MaxEntries = 100_000;

    /// <summary>Creates a lineage from its entries (in run order).</summary>
    public SearchLineage(IEnumerable<TrialRecord> trials, int droppedTrials = 0)
    {
        ArgumentNullException.ThrowIfNull(trials);
        Trials = [.. trials];
        if (Trials.Count > MaxEntries)
            throw new ArgumentException($"A lineage holds at most {MaxEntries:N0} trials (got {Trials.Count:N0}).");
        if (Trials.Any(t => t is null))
            throw new ArgumentException("A lineage entry is null.");
        var ids = new HashSet<int>();
        foreach (var t in Trials)
        {
            if (!ids.Add(t.Id))
                throw new ArgumentException($"The lineage has trial {t.Id} twice.");
        }
        if (droppedTrials < 0)
            throw new ArgumentException($"droppedTrials must not be negative (got {droppedTrials}).");
        DroppedTrials = droppedTrials;
    }

    /// <summary>The trials in the order they ran.</summary>
    public IReadOnlyList<TrialRecord> Trials { get; }

    /// <summary>Trials left out to keep the lineage bounded.</summary>
    public int DroppedTrials { get; }

    /// <summary>The path from the start to the final network: the selected trials in order.</summary>
    public IReadOnlyList<TrialRecord> IncumbentPath => [.. Trials.Where(t => t.Status == TrialStatus.Selected)];

    /// <summary>
    /// The lineage as an indented tree of the architectures (children under the trial they inherited from; an
    /// incumbent's re-training and the final training are shown on their parent's line as later results).
    /// </summary>
    public string ToTree()
    {
        var c = CultureInfo.InvariantCulture;
        var byParent = Trials.Where(t => t.ParentId is not null).GroupBy(t => t.ParentId!.Value).ToDictionary(g => g.Key, g => g.ToList());
        var text = new StringBuilder();
        foreach (var root in Trials.Where(t => t.ParentId is null || !Trials.Any(p => p.Id == t.ParentId)))
            Write(root, "", true, true);
        if (DroppedTrials > 0)
            text.AppendLine(c, $"({DroppedTrials} unselected trial(s) not kept)");
        return text.ToString();

        void Write(TrialRecord t, string indent, bool last, bool root)
        {
            var mark = t.Status == TrialStatus.Selected ? "*" : " ";
            var accuracy = t.ValidationAccuracy is { } a ? a.ToString("P2", c) : "-";
            var plan = t.Kind switch
            {
                TrialKind.Start => "start",
                TrialKind.Incumbent => "(incumbent trained on)",
                TrialKind.Final => "(final training)",
                _ => t.Plan,
            };
            var status = t.Status is TrialStatus.Diverged or TrialStatus.NotExact ? $" [{t.Status}]" : "";
            text.Append(indent).Append(root ? "" : last ? "└─ " : "├─ ")
                .AppendLine(c, $"{mark}#{t.Id} r{t.Round} {plan}: val {accuracy}, {t.Parameters:N0} params, {t.MacsPerImage:N0} MACs/img, {t.Epochs} ep, {t.CumulativeMacs:0.00e+00} MACs so far{status}");
            if (!byParent.TryGetValue(t.Id, out var children))
                return;
            var childIndent = indent + (root ? "" : last ? "   " : "│  ");
            for (int i = 0; i < children.Count; i++)
                Write(children[i], childIndent, i == children.Count - 1, false);
        }
    }

    /// <summary>The JSON form (a saved model's lineage part, and results files).</summary>
    public string ToJson() => JsonSerializer.Serialize(new JsonForm(Trials, DroppedTrials), Json);

    /// <summary>Reads the JSON form.</summary>
    /// <exception cref="FormatException">The JSON is malformed, or breaks a lineage rule (duplicate ids, too many entries).</exception>
    public static SearchLineage FromJson(string json)
    {
        try
        {
            var form = JsonSerializer.Deserialize<JsonForm>(json, Json) ?? throw new FormatException("The lineage JSON is null.");
            return new SearchLineage(form.Trials, form.DroppedTrials);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new FormatException($"The lineage JSON is not valid: {e.Message}", e);
        }
    }

    private sealed record JsonForm(IReadOnlyList<TrialRecord> Trials, int DroppedTrials);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        MaxDepth = 8,
    };

    /// <summary>Keeps at most <paramref name="limit"/> entries: drops the oldest unselected children that no kept entry descends from.</summary>
    internal static SearchLineage Bounded(IReadOnlyList<TrialRecord> trials, int limit)
    {
        if (trials.Count <= limit)
            return new SearchLineage(trials);
        var parents = trials.Where(t => t.ParentId is not null).Select(t => t.ParentId!.Value).ToHashSet();
        int excess = trials.Count - limit;
        var dropped = new HashSet<int>();
        foreach (var t in trials)
        {
            if (dropped.Count == excess)
                break;
            if (t.Status != TrialStatus.Selected && t.Kind == TrialKind.Child && !parents.Contains(t.Id))
                dropped.Add(t.Id);
        }
        return new SearchLineage(trials.Where(t => !dropped.Contains(t.Id)), dropped.Count);
    }
}
