using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Platform;

/// <summary>
/// Our components live in ML.NET's own .zip format: saved by <c>ml.Model.Save</c> and rebuilt by stock
/// <c>ml.Model.Load</c> in a process that never names a library type. Fails if the publicized build or
/// [IgnoresAccessChecksTo] is removed.
/// </summary>
public class PublicizedSaveLoadTests
{
    private sealed class Row
    {
        [VectorType(3)]
        public float[] Features { get; set; } = [];
    }

    [Fact]
    public void SmokeTransformerRoundTripsThroughNewProcess()
    {
        using var dir = new TempDirectory();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[]
        {
            new Row { Features = [1f, 2f, 3f] },
            new Row { Features = [-1f, 0.5f, 10f] },
        });
        var transformer = new SmokeScaleTransformer(ml, "Scaled", "Features", [2f, -1f, 0.25f]);
        var expected = ScaledColumn(ml, transformer.Transform(data));

        var modelPath = dir.File("smoke.zip");
        ml.Model.Save(transformer, data.Schema, modelPath);
        var input = dir.File("input.idv");
        using (var stream = File.Create(input))
            ml.Data.SaveAsBinary(data, stream);

        var output = dir.File("output.idv");
        var log = ModelLoaderProcess.Score(modelPath, input, output);

        Assert.Contains(nameof(SmokeScaleTransformer), log);
        var actual = ScaledColumn(ml, ml.Data.LoadFromBinary(output));
        Assert.Equal(expected, actual);
    }

    private static float[][] ScaledColumn(MLContext ml, IDataView view) =>
        view.GetColumn<float[]>("Scaled").ToArray();
}
