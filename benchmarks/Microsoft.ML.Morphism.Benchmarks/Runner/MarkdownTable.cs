// A markdown table built row by row, printed so that docs can be pasted from the runner's output.
using System.Text;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

/// <summary>A titled table of text cells; numeric-looking columns are right-aligned.</summary>
internal sealed class MarkdownTable(string title, params string[] columns)
{
    private readonly List<string[]> _rows = [];

    public string Title { get; } = title;

    public IReadOnlyList<string> Columns { get; } = columns;

    public IReadOnlyList<string[]> Rows => _rows;

    public void Add(params string[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new ArgumentException($"Table '{Title}' has {Columns.Count} columns but a row has {cells.Length}.");
        _rows.Add(cells);
    }

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", Columns).AppendLine(" |");
        text.Append('|').AppendJoin('|', Columns.Select((_, i) => RightAligned(i) ? "---:" : "---")).AppendLine("|");
        foreach (var row in _rows)
            text.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).AppendLine(" |");
        return text.ToString();
    }

    private bool RightAligned(int column) =>
        _rows.Count > 0 && _rows.All(r => r[column].Length > 0 && (char.IsDigit(r[column][0]) || r[column][0] is '−' or '-' or '—' or '<' or '≥'));
}
