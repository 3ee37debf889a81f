// Where the examples' Fashion-MNIST images come from: the committed PNG subset (through LoadImages) or the full IDX files.
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>A row of an image folder: an image file and its class name.</summary>
public sealed class ImageFileRow
{
    /// <summary>Absolute path of the PNG file (so a saved model does not depend on the current folder).</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The class folder's name, e.g. "T-shirt_top" (labels.csv maps it to the official name).</summary>
    public string Label { get; set; } = "";
}

/// <summary>A row of the IDX files: the 28×28 pixels scaled to [0, 1] and its class name.</summary>
public sealed class PixelRow
{
    /// <summary>Channels-first pixels (one channel), row-major, in [0, 1].</summary>
    [VectorType(FashionMnist.ImageSize * FashionMnist.ImageSize)]
    public float[] Features { get; set; } = [];

    /// <summary>The folder-safe class name, as the image folders use it (so models from both sources take the same labels).</summary>
    public string Label { get; set; } = "";
}

/// <summary>
/// Training and test rows plus the estimator that turns them into what the classifier reads: a key
/// <c>Label</c> and a <c>Features</c> vector of 1×28×28 pixels in [0, 1].
/// </summary>
/// <param name="Train">Training rows.</param>
/// <param name="Test">Test rows.</param>
/// <param name="Featurizer">MapValueToKey, plus the image transforms for an image folder.</param>
/// <param name="Description">One line saying what was loaded.</param>
/// <param name="ShortDescription">A few words for the plot's title: which data, and how many images of each split.</param>
/// <param name="ImageFiles">The image files read (training, then test) for an image folder; empty for the IDX files.</param>
public sealed record FashionMnistSplits(IDataView Train, IDataView Test, IEstimator<ITransformer> Featurizer, string Description, string ShortDescription,
    IReadOnlyList<string> ImageFiles)
{
    /// <summary>
    /// The first image file that ML.NET's image loader cannot decode, or null. Only called after reading the data
    /// failed: the loader's own message ("Invalid input stream contents") does not say which file it was.
    /// </summary>
    public string? FirstUnreadableImage()
    {
        foreach (var file in ImageFiles)
        {
            try
            {
                using var image = MLImage.CreateFromFile(file);
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                return file;
            }
        }
        return null;
    }

    /// <summary>
    /// An image folder laid out <c>&lt;root&gt;/{train,test}/&lt;class folder&gt;/&lt;file&gt;.png</c>, read with
    /// ML.NET's LoadImages/ResizeImages/ConvertToGrayscale/ExtractPixels — the pipeline users write.
    /// </summary>
    /// <param name="ml">The context the data views and transforms are made with.</param>
    /// <param name="root">The folder holding <c>train/</c> and <c>test/</c>.</param>
    /// <param name="trainPerClass">Use only the first N training images of each class (null: all).</param>
    /// <param name="testPerClass">Use only the first N test images of each class (null: all).</param>
    /// <param name="committedSubset">Whether <paramref name="root"/> is the committed subset (so the title can say so).</param>
    public static FashionMnistSplits FromImageFolder(MLContext ml, string root, int? trainPerClass, int? testPerClass, bool committedSubset = false)
    {
        ImageFileRow[] Rows(string split, int? perClass) =>
        [
            .. ExampleData.TakePerClass(ImageFolder.Enumerate(root, split), perClass)
                .Select(row => new ImageFileRow { ImagePath = row.ImagePath, Label = row.Label }),
        ];
        var train = Rows(FashionMnistSubset.TrainFolder, trainPerClass);
        var test = Rows(FashionMnistSubset.TestFolder, testPerClass);
        var featurizer = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: nameof(ImageFileRow.ImagePath)))
            .Append(ml.Transforms.ResizeImages("Image", FashionMnist.ImageSize, FashionMnist.ImageSize))
            .Append(ml.Transforms.ConvertToGrayscale("Image"))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255));
        var source = committedSubset ? "Fashion-MNIST, the embedded subset" : $"images from {Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)))}/";
        return new FashionMnistSplits(ml.Data.LoadFromEnumerable(train), ml.Data.LoadFromEnumerable(test), featurizer,
            $"{train.Length:N0} training and {test.Length:N0} test PNG images from {Path.GetFullPath(root)} (LoadImages → ExtractPixels)",
            $"{source}: {train.Length:N0} training, {test.Length:N0} test images",
            [.. train.Concat(test).Select(row => row.ImagePath)]);
    }

    /// <summary>
    /// The IDX files in <paramref name="folder"/> (Debian's dataset-fashion-mnist: 60,000 + 10,000 images).
    /// With a per-class count, the first N images of each class in file order — the same images the
    /// committed subset holds for the same counts.
    /// </summary>
    /// <param name="ml">The context the data views and transforms are made with.</param>
    /// <param name="folder">The folder with the four IDX files.</param>
    /// <param name="trainPerClass">Use only the first N training images of each class (null: all).</param>
    /// <param name="testPerClass">Use only the first N test images of each class (null: all).</param>
    /// <param name="holdOutPerClass">
    /// When set, the test set is the last N training images of each class instead of the official test set
    /// (for choosing settings without looking at the test images); they must not overlap the training images.
    /// </param>
    public static FashionMnistSplits FromIdx(MLContext ml, string folder, int? trainPerClass, int? testPerClass, int? holdOutPerClass = null)
    {
        var trainFile = FashionMnist.Load(FashionMnistSplit.Train, folder);
        var train = Rows(trainFile, FirstOfEachClass(trainFile.Labels, trainPerClass));
        PixelRow[] test;
        string testText;
        if (holdOutPerClass is { } holdOut)
        {
            var perClass = trainFile.Labels.CountBy(l => l).Min(c => c.Value);
            if ((trainPerClass ?? perClass) + holdOut > perClass)
                throw new ArgumentException($"--holdout-per-class {holdOut} overlaps the training images: the training file has {perClass:N0} images " +
                                            $"of its smallest class; use at most {perClass - (trainPerClass ?? perClass)} with --train-per-class {trainPerClass ?? perClass}.");
            test = Rows(trainFile, LastOfEachClass(trainFile.Labels, holdOut));
            testText = "held-out training";
        }
        else
        {
            var testFile = FashionMnist.Load(FashionMnistSplit.Test, folder);
            test = Rows(testFile, FirstOfEachClass(testFile.Labels, testPerClass));
            testText = "test";
        }
        var whole = trainPerClass is null && testPerClass is null && holdOutPerClass is null;
        return new FashionMnistSplits(ml.Data.LoadFromEnumerable(train), ml.Data.LoadFromEnumerable(test),
            ml.Transforms.Conversion.MapValueToKey("Label"),
            $"{train.Length:N0} training and {test.Length:N0} {testText} images from the IDX files in {Path.GetFullPath(folder)}",
            $"Fashion-MNIST, {(whole ? "the full data set" : "part of the full data set")}: {train.Length:N0} training, {test.Length:N0} {testText} images",
            []);
    }

    private static IEnumerable<int> FirstOfEachClass(byte[] labels, int? perClass)
    {
        var taken = new int[FashionMnist.ClassCount];
        return Enumerable.Range(0, labels.Length).Where(i => perClass is not { } n || taken[labels[i]]++ < n);
    }

    private static IEnumerable<int> LastOfEachClass(byte[] labels, int perClass)
    {
        var taken = new int[FashionMnist.ClassCount];
        return Enumerable.Range(0, labels.Length).Reverse().Where(i => taken[labels[i]]++ < perClass).Reverse();
    }

    private static PixelRow[] Rows(LabeledImages data, IEnumerable<int> indices) =>
    [
        .. indices.Select(i =>
        {
            var pixels = data.Images.GetImage(i);
            var features = new float[pixels.Length];
            for (int p = 0; p < pixels.Length; p++)
                features[p] = pixels[p] / 255f;
            return new PixelRow { Features = features, Label = FashionMnist.FolderName(data.Labels[i]) };
        }),
    ];
}
