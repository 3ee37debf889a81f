using Microsoft.ML.Data;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Tests.Classifier;

/// <summary>
/// The user code from the design, on small PNG files: LoadImages → ResizeImages → ConvertToGrayscale →
/// ExtractPixels → classifier, morphed, saved, loaded in a new process, upgraded.
/// </summary>
[Collection(nameof(ImagePipelineCollection))]
public class ImagePipelineTests(ImagePipelineFixture fixture)
{
    private MLContext Ml => fixture.Ml;

    [Fact]
    public void UserCodeRunsEndToEndAndTheMorphOnlyChildScoresLikeTheParent()
    {
        var grow = fixture.Parent.Morph(Ml, m => m.Deepen(after: "conv2").Widen("conv1", 32).EnlargeKernel("conv2", 5), new RefitOptions { MaxEpoch = 0 });

        var child = grow.Fit(fixture.Train);

        var parent = ClassifierFixture.Scores(fixture.Parent, fixture.Test);
        var morphed = ClassifierFixture.Scores(child, fixture.Test);
        Assert.True(ClassifierFixture.MaxScoreDifference(parent, morphed) <= 1e-4);
        Assert.Equal(fixture.Parent.Transform(fixture.Test).GetColumn<string>("PredictedLabel"), child.Transform(fixture.Test).GetColumn<string>("PredictedLabel"));
    }

    [Fact]
    public void RefitChildSavesAndLoadsInANewProcessWithIdenticalScores()
    {
        var child = fixture.Parent.Morph(Ml, m => m.Deepen(after: "conv2").Widen("conv1", 32).EnlargeKernel("conv2", 5), new RefitOptions { MaxEpoch = 1 })
            .Fit(fixture.Train);
        using var dir = new TempDirectory();
        var modelPath = dir.File("child.zip");
        Ml.Model.Save(child, fixture.Train.Schema, modelPath);
        var input = dir.File("input.idv");
        using (var stream = File.Create(input))
            Ml.Data.SaveAsBinary(fixture.Test, stream);

        ModelLoaderProcess.Score(modelPath, input, dir.File("output.idv"));

        var scored = Ml.Data.LoadFromBinary(dir.File("output.idv"));
        Assert.Equal(ClassifierFixture.Scores(child, fixture.Test), scored.GetColumn<float[]>("Score").ToArray());
        Assert.Equal(child.Transform(fixture.Test).GetColumn<string>("PredictedLabel"), scored.GetColumn<string>("PredictedLabel"));
    }

    [Fact]
    public void PermutationFeatureImportanceWorksOnTheWholePipeline()
    {
        // ML.NET's pipeline-level (non-generic) overload, on the README's pipeline, with the data scored by it as ML.NET's samples do.
        var scored = fixture.Parent.Transform(fixture.Test);

        var importance = Ml.MulticlassClassification.PermutationFeatureImportance(fixture.Parent, scored, labelColumnName: "Label",
            permutationCount: 1, numberOfExamplesToUse: 24);

        Assert.Equal(28 * 28, importance.Count);
        Assert.Contains("c0_y0_x0", importance.Keys);
        Assert.Contains("c0_y27_x27", importance.Keys);
        // Permuting a pixel changes the log-loss (it was computed, not defaulted), and the names follow the pixels' order.
        Assert.Contains(importance.Values, m => m.LogLoss.Mean != 0);
        Assert.Equal(Enumerable.Range(0, 28 * 28).Select(i => $"c0_y{i / 28}_x{i % 28}").Order(), importance.Keys.Order());
    }

    [Fact]
    public void PredictionEngineWorksOnALoadedModel()
    {
        using var dir = new TempDirectory();
        var path = dir.File("parent.zip");
        Ml.Model.Save(fixture.Parent, fixture.Train.Schema, path);
        var loaded = new MLContext(seed: 2).Model.Load(path, out _);
        var engine = Ml.Model.CreatePredictionEngine<SyntheticImages.FileRow, Prediction>(loaded);
        var row = fixture.TestRows[1];

        var prediction = engine.Predict(row);

        Assert.Equal(row.Label, prediction.PredictedLabel);
        Assert.Equal(1.0, prediction.Score.Sum(), 4);
    }

    [Fact]
    public void UpgradeModelMorphsASavedModelAndLeavesTheInputUntouched()
    {
        using var dir = new TempDirectory();
        var input = dir.File("parent.zip");
        Ml.Model.Save(fixture.Parent, fixture.Train.Schema, input);
        var inputBytes = File.ReadAllBytes(input);

        var upgrade = Ml.Morphism().UpgradeModel(input, dir.File("child.zip"), MorphPlan.Parse("deepen(conv2) widen(conv1, 24)"));

        Assert.Equal(inputBytes, File.ReadAllBytes(input));
        var loaded = Ml.Model.Load(dir.File("child.zip"), out _);
        var parentScores = ClassifierFixture.Scores(fixture.Parent, fixture.Test);
        var childScores = ClassifierFixture.Scores(loaded, fixture.Test);
        Assert.True(ClassifierFixture.MaxScoreDifference(parentScores, childScores) <= 1e-4);
        Assert.Equal("deepen(conv2, width=32) widen(conv1, 24)", string.Join(" ", Ml.Morphism().FindClassifier(loaded).MorphHistory));
        Assert.True(upgrade.After.ParameterCount > upgrade.Before.ParameterCount);
        Assert.True(upgrade.Report.MaxRelError <= 1e-4);
        Assert.Empty(upgrade.Refit);
    }

    [Fact]
    public void UpgradeModelWithRefitDataTrainsTheChild()
    {
        using var dir = new TempDirectory();
        var input = dir.File("parent.zip");
        Ml.Model.Save(fixture.Parent, fixture.Train.Schema, input);

        var upgrade = Ml.Morphism().UpgradeModel(input, dir.File("child.zip"), new MorphPlan().Widen("conv2", 40), fixture.Train, new RefitOptions { MaxEpoch = 2 });

        Assert.Equal([1, 2], upgrade.Refit.Select(e => e.Epoch));
        Assert.True(File.Exists(dir.File("child.zip")));
    }

    [Fact]
    public void ImageColumnCanFeedTheClassifierDirectly()
    {
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(Ml.Transforms.ConvertToGrayscale("Image"))
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
            {
                FeatureColumnName = "Image", ImageHeight = 28, ImageWidth = 28, Architecture = "conv(8,3) relu maxpool(2) flatten",
                MaxEpoch = 2, BatchSize = 16,
            }));

        var model = pipeline.Fit(fixture.Train);

        var fromImages = ClassifierFixture.Scores(model, fixture.Test);
        Assert.Equal(fixture.TestRows.Length, fromImages.Length);
        Assert.All(fromImages, s => Assert.Equal(1.0, s.Sum(), 4));
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }
}

/// <summary>PNG files in a temp folder and the design's user pipeline trained on them once.</summary>
public sealed class ImagePipelineFixture : IDisposable
{
    private readonly TempDirectory _dir = new();

    public ImagePipelineFixture()
    {
        Ml = new MLContext(seed: 1);
        var trainRows = SyntheticImages.Files(_dir.Path, perClass: 16, seed: 1);
        TestRows = SyntheticImages.Files(_dir.Path, perClass: 6, seed: 2);
        Train = Ml.Data.LoadFromEnumerable(trainRows);
        Test = Ml.Data.LoadFromEnumerable(TestRows);
        var pipeline = Ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(Ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath"))
            .Append(Ml.Transforms.ResizeImages("Image", 28, 28))
            .Append(Ml.Transforms.ConvertToGrayscale("Image"))
            .Append(Ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(Ml.MulticlassClassification.Trainers.MorphableImageClassifier(
                new MorphableImageClassifierTrainer.Options
                {
                    ImageHeight = 28, ImageWidth = 28, ImageChannels = 1,
                    Architecture = "conv(16,3) relu maxpool(2) conv(32,3) relu maxpool(2) flatten dense(64) relu",
                    MaxEpoch = 3, BatchSize = 16,
                }))
            .Append(Ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        Parent = pipeline.Fit(Train);
    }

    public MLContext Ml { get; }

    public SyntheticImages.FileRow[] TestRows { get; }

    public IDataView Train { get; }

    public IDataView Test { get; }

    public ITransformer Parent { get; }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(nameof(ImagePipelineCollection))]
public sealed class ImagePipelineCollection : ICollectionFixture<ImagePipelineFixture>;
