// The study's images: the first N training images train, the last M validate, the 10,000 test images monitor.
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Examples.GrowthStudy;

internal sealed record StudyData(InMemoryTrainingSet Train, InMemoryTrainingSet Validation, InMemoryTrainingSet Test, string Description)
{
    public static StudyData Load(StudySettings settings)
    {
        var train = FashionMnist.Load(FashionMnistSplit.Train, settings.Data);
        var test = FashionMnist.Load(FashionMnistSplit.Test, settings.Data);
        int n = settings.TrainImages, m = settings.ValidationImages;
        if (n + m > train.Images.Count)
            throw new ArgumentException($"--train-images {n} and --validation-images {m} overlap: the training file has {train.Images.Count:N0} images.");
        int t = Math.Min(settings.TestImages ?? test.Images.Count, test.Images.Count);
        return new StudyData(Set(train, 0, n), Set(train, train.Images.Count - m, m), Set(test, 0, t),
            $"Fashion-MNIST IDX ({Path.GetFullPath(settings.Data)}): training images 1–{n:N0} train, {train.Images.Count - m + 1:N0}–{train.Images.Count:N0} validate, " +
            (t == test.Images.Count ? $"all {t:N0} test images monitor" : $"test images 1–{t:N0} monitor"));
    }

    private static InMemoryTrainingSet Set(LabeledImages data, int first, int count)
    {
        int size = data.Images.PixelsPerImage;
        var features = new float[(long)count * size];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            var pixels = data.Images.GetImage(first + i);
            for (int p = 0; p < size; p++)
                features[(long)i * size + p] = pixels[p] / 255f;
            labels[i] = data.Labels[first + i];
        }
        return new InMemoryTrainingSet(features, labels, size);
    }
}
