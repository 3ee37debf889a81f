// What Model Builder does not generate: GrowPipeline morphs the saved FashionClassifier into a larger network (function preserved) and refits it.
using Microsoft.ML;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Morphs;

namespace ModelBuilderStyle;

public partial class FashionClassifier
{
    /// <summary>The mbconfig's grow plan: a layer after conv2, conv1 twice as wide, conv2's kernel 5×5.</summary>
    public const string GrowPlan = "deepen(conv2) widen(conv1, 32) kernel(conv2, 5)";

    /// <summary>The mbconfig's refit epochs after the morph.</summary>
    public const int GrowEpochs = 3;

    /// <summary>
    /// Grows the model saved at <paramref name="inputModelPath"/>: morphs its classifier with <paramref name="plan"/>
    /// (<see cref="GrowPlan"/> when null) so it starts out computing exactly what the saved model computes, refits it
    /// on <paramref name="trainData"/> (<see cref="ModelInput"/> rows, as for <see cref="RetrainPipeline"/>), and saves
    /// it to <paramref name="outputModelPath"/>. The input model is not modified; predict with the result through
    /// <see cref="CreatePredictEngine"/>, or make it the <see cref="MLNetModelPath"/>.
    /// </summary>
    /// <returns>The networks before and after, how exactly the morph preserved the model, and the refit epochs.</returns>
    public static ModelUpgrade GrowPipeline(MLContext mlContext, IDataView trainData, string inputModelPath, string outputModelPath,
        MorphPlan? plan, int refitEpochs = GrowEpochs)
    {
        return mlContext.Morphism().UpgradeModel(inputModelPath, outputModelPath, plan ?? MorphPlan.Parse(GrowPlan),
            refitData: trainData, refit: new RefitOptions { MaxEpoch = refitEpochs });
    }
}
