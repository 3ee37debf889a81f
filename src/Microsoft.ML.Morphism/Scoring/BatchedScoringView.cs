// What Transform returns: the classifier's output over an IDataView, scored in batches read ahead, with ML.NET's row-by-row view's schema and cursor contract.
using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Morphism.Columns;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Scoring;

/// <summary>
/// The classifier applied to <see cref="Source"/>. Same schema, rows, order, <c>Position</c> and values as ML.NET's row-by-row
/// <see cref="RowToRowMapperTransform"/> (which it wraps, and to which it leaves model saving and ONNX export), but a
/// cursor that reads Score or PredictedLabel scores <see cref="BatchSize"/> rows per forward pass: a second, feature-only
/// cursor over the same source reads the next rows ahead (an unshuffled cursor over an IDataView repeats its rows, upstream
/// filters included) while the consumer's cursor moves over the passed-on columns. A row whose features cannot be read
/// (an undecodable image, say) ends the batch before it, and its exception is thrown when the consumer reads that row's
/// scores, not when it is read ahead. Shuffled cursors score row by row.
/// </summary>
internal sealed class BatchedScoringView : IDataTransform, ITransformCanSaveOnnx
{
    /// <summary>Rows per forward pass.</summary>
    public const int BatchSize = 64;

    private readonly RowToRowMapperTransform _rowByRow;
    private readonly MorphableImageClassifierModelParameters _model;
    private readonly FeatureColumn _features;
    // For each column of Schema: its index in Source.Schema (>= 0), or ~k for the mapper's k-th output (0 Score,
    // 1 PredictedLabel, 2 the slot-named feature copy).
    private readonly int[] _map;

    /// <param name="rowByRow">ML.NET's row-by-row view of the classifier over the input.</param>
    /// <param name="model">The classifier's model.</param>
    /// <param name="features">The feature column, bound to the input's schema.</param>
    /// <param name="outputNames">The mapper's output column names, in its order.</param>
    public BatchedScoringView(RowToRowMapperTransform rowByRow, MorphableImageClassifierModelParameters model, FeatureColumn features,
        IReadOnlyList<string> outputNames)
    {
        _rowByRow = rowByRow;
        _model = model;
        _features = features;
        _map = MapColumns(rowByRow.Source.Schema, outputNames);
        if (_map.Length != Schema.Count || _map.Select((m, i) => Schema[i].Name != (m >= 0 ? Source.Schema[m].Name : outputNames[~m])).Any(b => b))
            throw new InvalidOperationException($"The classifier's batched view cannot place its columns in ML.NET's output schema ({string.Join(", ", Schema.Select(c => c.Name))}).");
    }

    /// <summary>
    /// Where ML.NET's row-by-row view puts each column: the input's columns in order, then each output column at the end, or,
    /// when its name hides an input column, right after the last column of that name (ML.NET's ColumnBindings rule).
    /// </summary>
    internal static int[] MapColumns(DataViewSchema input, IReadOnlyList<string> outputNames)
    {
        var map = Enumerable.Range(0, input.Count).ToList();
        var names = input.Select(c => c.Name).ToHashSet();
        string Name(int m) => m >= 0 ? input[m].Name : outputNames[~m];
        for (int k = 0; k < outputNames.Count; k++)
        {
            if (names.Add(outputNames[k]))
            {
                map.Add(~k);
                continue;
            }
            int last = map.FindLastIndex(m => Name(m) == outputNames[k]);
            map.Insert(last + 1, ~k);
        }
        return [.. map];
    }

    public IDataView Source => _rowByRow.Source;

    public DataViewSchema Schema => RowByRow.Schema;

    public bool CanShuffle => RowByRow.CanShuffle;

    private IDataView RowByRow => _rowByRow;

    public long? GetRowCount() => RowByRow.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool scores = needed.Any(i => _map[i] is -1 or -2);
        // Shuffled rows cannot be read twice in the same order; without scores there is nothing to batch.
        if (rand is not null || !scores)
            return RowByRow.GetRowCursor(columnsNeeded, rand);
        return new Cursor(this, needed);
    }

    // One cursor: batching is the parallelism here (ML.NET's splitter would only score row by row in its workers).
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)_rowByRow).Save(ctx);

    bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => ((ICanSaveOnnx)_rowByRow).CanSaveOnnx(ctx);

    void ISaveAsOnnx.SaveAsOnnx(OnnxContext ctx) => ((ISaveAsOnnx)_rowByRow).SaveAsOnnx(ctx);

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchedScoringView _view;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor _ahead;
        private readonly Func<Span<float>, bool> _read;
        private readonly int _size;
        private readonly int _classes;
        private readonly HashSet<int> _active;
        private readonly float[] _pixels;
        private readonly float[] _scores;
        private readonly bool[] _usable;
        private Exception? _failure;
        private int _count;
        private int _row = -1;

        public Cursor(BatchedScoringView view, HashSet<int> active)
        {
            _view = view;
            _active = active;
            var input = view.Source;
            // The consumer's rows: the passed-on columns it asked for (the slot-named feature copy reads the features).
            var passed = active.Where(i => view._map[i] >= 0).Select(i => input.Schema[view._map[i]]).ToList();
            if (active.Any(i => view._map[i] == ~2))
                passed.Add(view._features.Column);
            _rows = input.GetRowCursor(passed.Distinct());
            _ahead = input.GetRowCursor(view._features.ReadColumns);
            _read = view._features.CreateReader(_ahead);
            _size = view._features.Size;
            _classes = view._model.ClassNames.Length;
            _pixels = new float[BatchSize * _size];
            _scores = new float[BatchSize * _classes];
            _usable = new bool[BatchSize];
        }

        public override long Position => _rows.Position;

        public override long Batch => _rows.Batch;

        public override DataViewSchema Schema => _view.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _rows.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!_rows.MoveNext())
                return false;
            if (++_row >= _count)
                Fill();
            return true;
        }

        // Reads and scores the next rows ahead, up to a batch or the first row whose features cannot be read.
        private void Fill()
        {
            _row = 0;
            _count = 0;
            _failure = null;
            while (_count < BatchSize)
            {
                if (!_ahead.MoveNext())
                {
                    if (_count == 0)
                        throw new InvalidOperationException("The classifier's read-ahead cursor ran out of rows before the consumer's: the input data view does not repeat its rows.");
                    break;
                }
                try
                {
                    _usable[_count] = _read(_pixels.AsSpan(_count * _size, _size));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Thrown when the consumer reaches this row; the rows before it are scored now.
                    _failure = e;
                    _count++;
                    break;
                }
                _count++;
            }
            int scored = _failure is null ? _count : _count - 1;
            if (scored > 0)
                Score(scored);
        }

        private void Score(int rows)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = tensor(_pixels.AsSpan(0, rows * _size).ToArray(), _view._model.Network.Input.WithBatch(rows));
            var probabilities = nn.functional.softmax(_view._model.ScoringModule.forward(x), 1);
            probabilities.data<float>().CopyTo(_scores.AsSpan(0, rows * _classes));
            for (int i = 0; i < rows; i++)
                if (!_usable[i])
                    _scores.AsSpan(i * _classes, _classes).Fill(float.NaN);
        }

        private ReadOnlySpan<float> Current()
        {
            if (_failure is not null && _row == _count - 1)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_failure);
            return _scores.AsSpan(_row * _classes, _classes);
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active.Contains(column.Index))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            int mapped = _view._map[column.Index];
            if (mapped >= 0)
                return _rows.GetGetter<TValue>(_view.Source.Schema[mapped]);
            Delegate getter = ~mapped switch
            {
                0 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var scores = Current();
                    var editor = VBufferEditor.Create(ref dst, scores.Length);
                    scores.CopyTo(editor.Values);
                    dst = editor.Commit();
                }),
                1 => (ValueGetter<uint>)((ref uint dst) => dst = MorphableImageClassifierTransformer.PredictedKey(Current())),
                _ => PixelSlotNames.Getter(_rows, _view._features.Column),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Invalid TValue in GetGetter: column '{column.Name}' has type {column.Type}, not {typeof(TValue)}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _rows.Dispose();
                _ahead.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
