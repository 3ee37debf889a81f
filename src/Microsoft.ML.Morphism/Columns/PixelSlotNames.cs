// Names the slots of a pixel-vector feature column c{channel}_y{row}_x{column}, which ML.NET's permutation feature importance needs.
using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Columns;

/// <summary>
/// ML.NET's pipeline-level permutation feature importance reads the feature column's <c>SlotNames</c>, which
/// <c>ExtractPixels</c> does not write, and fails only after permuting every slot. The classifier passes such a
/// column on unchanged under its own name, with slot names <c>c{channel}_y{row}_x{column}</c> (channels first, as the
/// network reads them).
/// </summary>
internal static class PixelSlotNames
{
    /// <summary>True for a known-size pixel vector without slot names.</summary>
    public static bool Needed(FeatureColumn features) =>
        features.Kind == FeatureKind.Pixels
        && features.Column.Type is VectorDataViewType { IsKnownSize: true }
        && features.Column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.SlotNames) is null;

    /// <summary>The slot name of value <paramref name="index"/> of a channels-first <paramref name="shape"/>.</summary>
    public static string Name(TensorShape shape, int index)
    {
        int plane = shape.Height * shape.Width;
        return $"c{index / plane}_y{index % plane / shape.Width}_x{index % shape.Width}";
    }

    /// <summary>The feature column again, with its type and the slot names.</summary>
    public static DataViewSchema.DetachedColumn FeatureColumn(DataViewSchema.Column column, TensorShape shape)
    {
        var type = (VectorDataViewType)column.Type;
        var names = new VBuffer<ReadOnlyMemory<char>>(type.Size, [.. Enumerable.Range(0, type.Size).Select(i => Name(shape, i).AsMemory())]);
        var annotations = new DataViewSchema.Annotations.Builder();
        annotations.Add(AnnotationUtils.Kinds.SlotNames, new VectorDataViewType(TextDataViewType.Instance, type.Size),
            (ref VBuffer<ReadOnlyMemory<char>> dst) => names.CopyTo(ref dst));
        return new DataViewSchema.DetachedColumn(column.Name, type, annotations.ToAnnotations());
    }

    /// <summary>Copies the input row's pixel vector.</summary>
    public static Delegate Getter(DataViewRow input, DataViewSchema.Column column)
    {
        var source = input.GetGetter<VBuffer<float>>(column);
        var value = default(VBuffer<float>);
        ValueGetter<VBuffer<float>> copy = (ref VBuffer<float> dst) =>
        {
            source(ref value);
            value.CopyTo(ref dst);
        };
        return copy;
    }
}
