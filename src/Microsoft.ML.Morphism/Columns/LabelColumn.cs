// Reads class indices from a key-typed label column and its class names from the key values.
using Microsoft.ML.Data;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// The label column: a key type of K classes (use <c>MapValueToKey</c> upstream). Key value k maps
/// to class index k − 1; key 0 (missing) rows are skipped in training. Class names come from the
/// key-values annotation (any type, shown with invariant formatting), else "0" … "K−1".
/// </summary>
internal sealed class LabelColumn
{
    private LabelColumn(DataViewSchema.Column column, IReadOnlyList<string> classNames)
    {
        Column = column;
        ClassNames = classNames;
    }

    public DataViewSchema.Column Column { get; }

    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The label column of <paramref name="data"/>; a key of fewer than 2 classes over no rows at all is called what it is.</summary>
    public static LabelColumn Bind(IDataView data, string name, string role = "training data")
    {
        var schema = data.Schema;
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException(nameof(name), $"Label column '{name}' not found in the input. Columns: {string.Join(", ", schema.Select(c => c.Name))}.");
        if (column.Type is not KeyDataViewType key || key.RawType != typeof(uint))
            throw new ArgumentOutOfRangeException(nameof(name), $"Label column '{name}' has type {column.Type}; it must be a key type (UInt32 key) — add ml.Transforms.Conversion.MapValueToKey(\"{name}\") before the trainer.");
        if (key.Count < 2 && !HasRows(data))
            throw new ArgumentException($"The {role} has no rows (label column '{name}' therefore has {key.Count} {(key.Count == 1 ? "class" : "classes")}); a classifier needs rows of at least 2 classes.", nameof(data));
        if (key.Count < 2 || key.Count > 1_000_000)
            throw new ArgumentOutOfRangeException(nameof(name), $"Label column '{name}' has {key.Count} {(key.Count == 1 ? "class" : "classes")}; a classifier needs 2 to 1,000,000.");
        return new LabelColumn(column, ReadClassNames(column, (int)key.Count));
    }

    private static bool HasRows(IDataView data)
    {
        if (data.GetRowCount() is { } count)
            return count > 0;
        using var cursor = data.GetRowCursor([]);
        return cursor.MoveNext();
    }

    /// <summary>A reader returning the class index of the current row, or −1 when the label is missing.</summary>
    public Func<long> CreateReader(DataViewRow row)
    {
        var getter = row.GetGetter<uint>(Column);
        uint value = 0;
        return () =>
        {
            getter(ref value);
            return value == 0 || value > ClassNames.Count ? -1 : value - 1;
        };
    }

    private static string[] ReadClassNames(DataViewSchema.Column column, int count)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.KeyValues);
        if (annotation is { Type: VectorDataViewType vector } && vector.Size == count)
        {
            var names = new string[count];
            var method = typeof(LabelColumn).GetMethod(nameof(ReadNames), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(vector.ItemType.RawType);
            method.Invoke(null, [column, annotation.Value, names]);
            return names;
        }
        return [.. Enumerable.Range(0, count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    private static void ReadNames<T>(DataViewSchema.Column column, DataViewSchema.Column annotation, string[] names)
    {
        var values = default(VBuffer<T>);
        column.Annotations.GetValue(annotation.Name, ref values);
        int i = 0;
        foreach (var value in values.DenseValues())
            names[i++] = value is IFormattable f ? f.ToString(null, System.Globalization.CultureInfo.InvariantCulture) : value?.ToString() ?? "";
    }
}
