// Model Builder style training code for FashionClassifier (what FashionClassifier.mbconfig describes): BuildPipeline, RetrainPipeline, Train.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Samples;

namespace ModelBuilderStyle;

public partial class FashionClassifier
{
    // The trainer options FashionClassifier.mbconfig holds, baked in as Model Builder does.
    public const string Architecture = "conv(16,3) relu maxpool(2) conv(32,3) relu maxpool(2) flatten dense(64) relu";
    public const int MaxEpoch = 5;
    public const int BatchSize = 64;

    /// <summary>The mbconfig's data source: the committed subset's training images, <c>&lt;folder&gt;/&lt;class&gt;/&lt;image&gt;</c>.</summary>
    public static string RetrainFolderPath => Path.Combine(ExampleData.SubsetFolder(typeof(FashionClassifier).Assembly), FashionMnistSubset.TrainFolder);

    /// <summary>
    /// Train a new model with the images in <paramref name="inputDataFolder"/> (<c>&lt;folder&gt;/&lt;class&gt;/&lt;image&gt;</c>)
    /// and save it to <paramref name="outputModelPath"/>.
    /// </summary>
    /// <param name="outputModelPath">output model path</param>
    /// <param name="inputDataFolder">the images; <see cref="RetrainFolderPath"/> when null</param>
    /// <param name="maxEpoch">training epochs</param>
    /// <param name="imagesPerClass">train on the first images of each class only; all when null</param>
    public static void Train(string outputModelPath, string? inputDataFolder = null, int maxEpoch = MaxEpoch, int? imagesPerClass = null)
    {
        var mlContext = new MLContext(seed: 1);

        var data = LoadImageFolder(mlContext, inputDataFolder ?? RetrainFolderPath, imagesPerClass);
        var model = RetrainPipeline(mlContext, data, maxEpoch);
        SaveModel(mlContext, model, data, outputModelPath);
    }

    /// <summary>
    /// Load an IDataView of <see cref="ModelInput"/> rows (class folder name, the image file's bytes) from a folder of class folders.
    /// </summary>
    public static IDataView LoadImageFolder(MLContext mlContext, string folder, int? imagesPerClass = null)
    {
        var rows = ExampleData.TakePerClass(ExampleData.ClassFolderRows(folder), imagesPerClass);
        return mlContext.Data.LoadFromEnumerable(rows.Select(row => new ModelInput { Label = row.Label, ImageSource = File.ReadAllBytes(row.ImagePath) }));
    }

    /// <summary>
    /// Save a model at the specified path, through a temp file and a rename (a failure never leaves half a model).
    /// </summary>
    public static void SaveModel(MLContext mlContext, ITransformer model, IDataView data, string modelSavePath)
    {
        // Pull the data schema from the IDataView used for training the model
        DataViewSchema dataViewSchema = data.Schema;

        mlContext.Morphism().SaveModel(model, dataViewSchema, modelSavePath);
    }

    /// <summary>
    /// Retrains model using the pipeline generated as part of the training process.
    /// </summary>
    public static ITransformer RetrainPipeline(MLContext mlContext, IDataView trainData, int maxEpoch = MaxEpoch)
    {
        var pipeline = BuildPipeline(mlContext, maxEpoch);
        var model = pipeline.Fit(trainData);

        return model;
    }

    /// <summary>
    /// build the pipeline that is used from model builder. Use this function to retrain model.
    /// </summary>
    public static IEstimator<ITransformer> BuildPipeline(MLContext mlContext, int maxEpoch = MaxEpoch)
    {
        // Data process configuration with pipeline data transformations
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey(outputColumnName: @"Label", inputColumnName: @"Label")
                                .Append(mlContext.MulticlassClassification.Trainers.MorphableImageClassifier(new MorphableImageClassifierTrainer.Options
                                {
                                    LabelColumnName = @"Label",
                                    ScoreColumnName = @"Score",
                                    FeatureColumnName = @"ImageSource",
                                    Architecture = Architecture,
                                    MaxEpoch = maxEpoch,
                                    BatchSize = BatchSize,
                                }))
                                .Append(mlContext.Transforms.Conversion.MapKeyToValue(outputColumnName: @"PredictedLabel", inputColumnName: @"PredictedLabel"));

        return pipeline;
    }
}
