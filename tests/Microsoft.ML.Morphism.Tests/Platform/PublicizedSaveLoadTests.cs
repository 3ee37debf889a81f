using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Tests.Classifier;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Platform;

/// <summary>
/// Our components live in ML.NET's own .zip format: saved by <c>ml.Model.Save</c> and rebuilt by stock
/// <c>ml.Model.Load</c> in a process that never names a library type. Fails if the publicized build or
/// [IgnoresAccessChecksTo] is removed (checked by hand: without the attribute loading fails with
/// "Method 'SaveModel' ... is overriding a method that is not visible"; without the publicizer the
/// library does not compile).
/// </summary>
[Collection(nameof(ClassifierCollection))]
public class PublicizedSaveLoadTests(ClassifierFixture fixture)
{
    [Fact]
    public void SavedPipelineScoresBitIdenticallyAfterLoadInANewProcess()
    {
        using var dir = new TempDirectory();
        var ml = fixture.Ml;
        var modelPath = dir.File("parent.zip");
        ml.Model.Save(fixture.Parent, fixture.Test.Schema, modelPath);
        var input = dir.File("input.idv");
        using (var stream = File.Create(input))
            ml.Data.SaveAsBinary(fixture.Test, stream);

        var output = dir.File("output.idv");
        var log = ModelLoaderProcess.Score(modelPath, input, output);

        Assert.Contains(nameof(MorphableImageClassifierTransformer), log);
        var expected = ClassifierFixture.Scores(fixture.Parent, fixture.Test);
        var actual = ml.Data.LoadFromBinary(output).GetColumn<float[]>("Score").ToArray();
        Assert.Equal(expected, actual);
        Assert.Equal(fixture.Parent.Transform(fixture.Test).GetColumn<string>("PredictedLabel"),
            ml.Data.LoadFromBinary(output).GetColumn<string>("PredictedLabel"));
    }
}
