// Model Builder style consumption code for FashionClassifier: the input/output classes, a lazily created PredictionEngine, Predict().
using Microsoft.ML;
using Microsoft.ML.Data;

namespace ModelBuilderStyle;

public partial class FashionClassifier
{
    /// <summary>
    /// model input class for FashionClassifier.
    /// </summary>
    #region model input class
    public class ModelInput
    {
        /// <summary>The class, for training; predicting does not need it (the model's MapValueToKey reads the column, so it stays).</summary>
        [ColumnName(@"Label")]
        public string Label { get; set; } = "";

        /// <summary>The image file's bytes (PNG, JPEG, BMP, ...), e.g. <c>File.ReadAllBytes(path)</c>: the classifier decodes and resizes them.</summary>
        [ColumnName(@"ImageSource")]
        public byte[] ImageSource { get; set; } = [];
    }

    #endregion

    /// <summary>
    /// model output class for FashionClassifier.
    /// </summary>
    #region model output class
    public class ModelOutput
    {
        [ColumnName(@"PredictedLabel")]
        public string PredictedLabel { get; set; } = "";

        [ColumnName(@"Score")]
        public float[] Score { get; set; } = [];
    }

    #endregion

    private static string _mlNetModelPath = Path.Combine(AppContext.BaseDirectory, "FashionClassifier.mlnet");

    /// <summary>
    /// The model file <see cref="Predict"/> uses: next to the program by default, as Model Builder puts it.
    /// Set it before the first prediction; the engine reads the file once.
    /// </summary>
    public static string MLNetModelPath
    {
        get => _mlNetModelPath;
        set
        {
            if (PredictEngine.IsValueCreated)
                throw new InvalidOperationException($"The prediction engine already uses '{_mlNetModelPath}'; set MLNetModelPath before the first Predict.");
            _mlNetModelPath = value;
        }
    }

    public static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> PredictEngine =
        new(() => CreatePredictEngine(MLNetModelPath), isThreadSafe: true);

    /// <summary>
    /// Use this method to predict on <see cref="ModelInput"/>.
    /// </summary>
    /// <param name="input">model input.</param>
    /// <returns><seealso cref="ModelOutput"/></returns>
    public static ModelOutput Predict(ModelInput input)
    {
        var predEngine = PredictEngine.Value;
        return predEngine.Predict(input);
    }

    /// <summary>
    /// A prediction engine for the model at <paramref name="modelPath"/>, e.g. a grown copy (see <see cref="GrowPipeline"/>).
    /// Stock ML.NET loads it: the model names the library that rebuilds the classifier.
    /// </summary>
    public static PredictionEngine<ModelInput, ModelOutput> CreatePredictEngine(string modelPath)
    {
        var mlContext = new MLContext(seed: 1);
        ITransformer mlModel = mlContext.Model.Load(modelPath, out _);
        return mlContext.Model.CreatePredictionEngine<ModelInput, ModelOutput>(mlModel);
    }
}
