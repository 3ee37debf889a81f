// Foundation smoke component: a transformer with binary state that round-trips through ML.NET's .zip.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(SmokeScaleTransformer), null, typeof(SignatureLoadModel),
    "Morphism smoke scale", SmokeScaleTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(SmokeScaleTransformer), null, typeof(SignatureLoadRowMapper),
    "Morphism smoke scale", SmokeScaleTransformer.LoaderSignature)]

namespace Microsoft.ML.Morphism
{
    /// <summary>Multiplies a float vector column by stored per-slot factors (proves the save/load plumbing).</summary>
    public sealed class SmokeScaleTransformer : RowToRowTransformerBase
    {
        internal const string LoaderSignature = "MorphSmokeScale";

        private readonly string _input;
        private readonly string _output;
        private readonly float[] _factors;

        public SmokeScaleTransformer(MLContext ml, string outputColumn, string inputColumn, float[] factors)
            : this((IHostEnvironment)ml, outputColumn, inputColumn, (float[])factors.Clone())
        {
        }

        private SmokeScaleTransformer(IHostEnvironment env, string outputColumn, string inputColumn, float[] factors)
            : base(env.Register(nameof(SmokeScaleTransformer)))
        {
            _input = inputColumn;
            _output = outputColumn;
            _factors = factors;
        }

        private static VersionInfo GetVersionInfo() => new VersionInfo(
            modelSignature: "MRPHSMOK",
            verWrittenCur: 0x00010001,
            verReadableCur: 0x00010001,
            verWeCanReadBack: 0x00010001,
            loaderSignature: LoaderSignature,
            loaderAssemblyName: typeof(SmokeScaleTransformer).Assembly.FullName);

        private static SmokeScaleTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            ctx.CheckAtModel(GetVersionInfo());
            var input = ctx.LoadNonEmptyString();
            var output = ctx.LoadNonEmptyString();
            float[]? factors = null;
            if (!ctx.TryLoadBinaryStream("Factors", r =>
                {
                    int n = r.ReadInt32();
                    factors = new float[n];
                    for (int i = 0; i < n; i++)
                        factors[i] = r.ReadSingle();
                }))
                throw env.ExceptDecode("missing Factors stream");
            return new SmokeScaleTransformer(env, output, input, factors!);
        }

        private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
            => Create(env, ctx).MakeRowMapper(inputSchema);

        protected override void SaveModel(ModelSaveContext ctx)
        {
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            ctx.SaveNonEmptyString(_input);
            ctx.SaveNonEmptyString(_output);
            ctx.SaveBinaryStream("Factors", w =>
            {
                w.Write(_factors.Length);
                foreach (var f in _factors)
                    w.Write(f);
            });
        }

        protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

        private sealed class Mapper : MapperBase
        {
            private readonly SmokeScaleTransformer _parent;
            private readonly int _inputIndex;

            public Mapper(SmokeScaleTransformer parent, DataViewSchema schema)
                : base(parent.Host, schema, parent)
            {
                _parent = parent;
                _inputIndex = schema[parent._input].Index;
            }

            protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore() =>
                [new DataViewSchema.DetachedColumn(_parent._output, new VectorDataViewType(NumberDataViewType.Single, _parent._factors.Length))];

            protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
            {
                disposer = null;
                var getter = input.GetGetter<VBuffer<float>>(input.Schema[_inputIndex]);
                var src = default(VBuffer<float>);
                ValueGetter<VBuffer<float>> result = (ref VBuffer<float> dst) =>
                {
                    getter(ref src);
                    var editor = VBufferEditor.Create(ref dst, _parent._factors.Length);
                    var values = src.DenseValues().ToArray();
                    for (int i = 0; i < _parent._factors.Length; i++)
                        editor.Values[i] = values[i] * _parent._factors[i];
                    dst = editor.Commit();
                };
                return result;
            }

            protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput) =>
                col => col == _inputIndex && activeOutput(0);

            protected override void SaveModel(ModelSaveContext ctx) => _parent.SaveModel(ctx);
        }
    }
}
