// Writes the small Fashion-MNIST image folder the examples ship with: the first N images of each class as PNG files.
using System.Text;

namespace Microsoft.ML.Morphism.Samples;

/// <summary>How many images <see cref="FashionMnistSubset.Write"/> wrote, and their total size.</summary>
/// <param name="TrainImages">PNG files written under <c>train/</c>.</param>
/// <param name="TestImages">PNG files written under <c>test/</c>.</param>
/// <param name="ImageBytes">The total size of the PNG files, in bytes.</param>
/// <param name="StaleImagesDeleted">PNG files of an earlier run that this subset no longer holds, deleted.</param>
public sealed record FashionMnistSubsetSummary(int TrainImages, int TestImages, long ImageBytes, int StaleImagesDeleted);

/// <summary>
/// The Fashion-MNIST subset committed at <c>examples/data/fashion-mnist</c>: for each class, the first
/// <c>trainPerClass</c> training and <c>testPerClass</c> test images in IDX file order, as
/// <c>&lt;split&gt;/&lt;folder-safe class&gt;/&lt;index in the IDX file, 5 digits&gt;.png</c>,
/// plus <c>labels.csv</c>, the data set's <c>LICENSE</c> and a <c>README.md</c>.
/// </summary>
/// <remarks>
/// "The first N of each class" (not a random sample) keeps the subset reproducible from the IDX files
/// alone, and file names that are IDX indices let anyone trace an image back to its source. Every file
/// written depends only on the IDX data and the two counts, and an image file that already holds its image's
/// pixels is left as it is, so regenerating over the committed subset changes no file.
/// </remarks>
public static class FashionMnistSubset
{
    /// <summary>Training images per class in the committed subset.</summary>
    public const int DefaultTrainPerClass = 200;

    /// <summary>Test images per class in the committed subset.</summary>
    public const int DefaultTestPerClass = 100;

    /// <summary>Where the committed subset lives, relative to the repository root.</summary>
    public const string DefaultOutputFolder = "examples/data/fashion-mnist";

    /// <summary>The split folder of the training images.</summary>
    public const string TrainFolder = "train";

    /// <summary>The split folder of the test images.</summary>
    public const string TestFolder = "test";

    /// <summary>The name of the file mapping folder names to official class names and labels.</summary>
    public const string LabelsFileName = "labels.csv";

    /// <summary>The header line of <see cref="LabelsFileName"/>; each following line is <c>folder,class_name,label</c>.</summary>
    public const string LabelsHeader = "folder,class_name,label";

    /// <summary>The file name of image <paramref name="index"/> (zero-based index in its IDX file), e.g. <c>00042.png</c>.</summary>
    public static string ImageFileName(int index) => $"{index:D5}.png";

    /// <summary>
    /// The indices of the first <paramref name="perClass"/> images of each class, in file order:
    /// element <c>c</c> lists class <c>c</c>'s indices.
    /// </summary>
    /// <param name="labels">One label in [0, 10) per image.</param>
    /// <param name="perClass">How many images to take from each class.</param>
    /// <param name="split">Which part the labels belong to, named in the error message.</param>
    /// <exception cref="InvalidDataException">A class has fewer than <paramref name="perClass"/> images.</exception>
    public static IReadOnlyList<int>[] FirstIndicesOfEachClass(byte[] labels, int perClass, FashionMnistSplit split)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(perClass);
        var chosen = Enumerable.Range(0, FashionMnist.ClassCount).Select(_ => new List<int>(perClass)).ToArray();
        for (var i = 0; i < labels.Length; i++)
        {
            var taken = chosen[labels[i]];
            if (taken.Count < perClass)
                taken.Add(i);
        }
        for (var label = 0; label < chosen.Length; label++)
        {
            if (chosen[label].Count < perClass)
                throw new InvalidDataException(
                    $"The {(split == FashionMnistSplit.Train ? "training" : "test")} images hold only {chosen[label].Count} of class {label} "
                    + $"({FashionMnist.ClassName(label)}); {perClass} per class were asked for.");
        }
        return chosen;
    }

    /// <summary>
    /// Writes the subset of the IDX files in <paramref name="dataFolder"/> to <paramref name="outputFolder"/>.
    /// PNG files of an earlier run that the new subset does not hold are deleted from the ten class folders.
    /// </summary>
    /// <param name="dataFolder">The folder holding Fashion-MNIST's IDX files.</param>
    /// <param name="outputFolder">The folder to write (created if missing).</param>
    /// <param name="trainPerClass">Training images per class.</param>
    /// <param name="testPerClass">Test images per class.</param>
    /// <returns>What was written.</returns>
    /// <exception cref="InvalidDataException">An IDX file is invalid, a class has too few images, or a split folder holds folders other than the ten classes.</exception>
    public static FashionMnistSubsetSummary Write(string dataFolder, string outputFolder, int trainPerClass, int testPerClass)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        ArgumentOutOfRangeException.ThrowIfLessThan(trainPerClass, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(testPerClass, 1);
        // Read and check everything before writing anything, so a bad data folder leaves the output untouched.
        var train = FashionMnist.Load(FashionMnistSplit.Train, dataFolder);
        var test = FashionMnist.Load(FashionMnistSplit.Test, dataFolder);
        var trainIndices = FirstIndicesOfEachClass(train.Labels, trainPerClass, FashionMnistSplit.Train);
        var testIndices = FirstIndicesOfEachClass(test.Labels, testPerClass, FashionMnistSplit.Test);

        Directory.CreateDirectory(outputFolder);
        var (trainBytes, trainStale) = WriteSplit(train.Images, trainIndices, Path.Combine(outputFolder, TrainFolder));
        var (testBytes, testStale) = WriteSplit(test.Images, testIndices, Path.Combine(outputFolder, TestFolder));
        WriteText(Path.Combine(outputFolder, LabelsFileName), LabelsCsv());
        WriteText(Path.Combine(outputFolder, "LICENSE"), License);
        WriteText(Path.Combine(outputFolder, "README.md"), Readme(trainPerClass, testPerClass));
        return new FashionMnistSubsetSummary(
            trainPerClass * FashionMnist.ClassCount, testPerClass * FashionMnist.ClassCount,
            trainBytes + testBytes, trainStale + testStale);
    }

    /// <summary>The content of <see cref="LabelsFileName"/>: header, then one line per class in label order.</summary>
    public static string LabelsCsv()
    {
        var csv = new StringBuilder(LabelsHeader).Append('\n');
        for (var label = 0; label < FashionMnist.ClassCount; label++)
            csv.Append($"{FashionMnist.FolderName(label)},{FashionMnist.ClassName(label)},{label}\n");
        return csv.ToString();
    }

    private static (long Bytes, int Stale) WriteSplit(IdxImages images, IReadOnlyList<int>[] indicesOfEachClass, string splitFolder)
    {
        Directory.CreateDirectory(splitFolder);
        // A foreign folder here would become an extra class for every image-folder reader; refuse rather than guess.
        var foreign = Directory.GetDirectories(splitFolder).Select(Path.GetFileName)
            .Where(name => !FashionMnist.FolderNames.Contains(name)).Order(StringComparer.Ordinal).ToArray();
        if (foreign.Length > 0)
            throw new InvalidDataException(
                $"'{splitFolder}' holds folders that are not Fashion-MNIST classes ({string.Join(", ", foreign)}); remove them or choose another --out.");

        long bytes = 0;
        var stale = 0;
        for (var label = 0; label < indicesOfEachClass.Length; label++)
        {
            var classFolder = Path.Combine(splitFolder, FashionMnist.FolderName(label));
            Directory.CreateDirectory(classFolder);
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var index in indicesOfEachClass[label])
            {
                var path = Path.Combine(classFolder, ImageFileName(index));
                // The committed images were written by an earlier PNG encoder: same pixels, other bytes. Keep them.
                if (!HoldsPixels(path, images.GetImage(index), images.Columns, images.Rows))
                    GrayscalePng.Write(path, images.GetImage(index), images.Columns, images.Rows);
                written.Add(Path.GetFileName(path));
                bytes += new FileInfo(path).Length;
            }
            // Left-overs of a run with larger counts would otherwise pass for part of this subset.
            foreach (var old in Directory.GetFiles(classFolder, "*.png"))
            {
                if (!written.Contains(Path.GetFileName(old)))
                {
                    File.Delete(old);
                    stale++;
                }
            }
        }
        return (bytes, stale);
    }

    private static bool HoldsPixels(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (!File.Exists(path))
            return false;
        try
        {
            var image = GrayscalePng.Read(path);
            return (image.Width, image.Height) == (width, height) && pixels.SequenceEqual(image.Pixels);
        }
        catch (InvalidDataException)
        {
            return false; // damaged, or not gray: write it anew
        }
    }

    // Fixed line endings and no byte-order mark, so the files are the same whatever the checkout's line endings.
    private static void WriteText(string path, string text) =>
        File.WriteAllText(path, text.ReplaceLineEndings("\n"), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    private static string Readme(int trainPerClass, int testPerClass)
    {
        var classRows = new StringBuilder();
        for (var label = 0; label < FashionMnist.ClassCount; label++)
            classRows.Append($"| {label} | {FashionMnist.ClassName(label)} | `{FashionMnist.FolderName(label)}` |\n");
        int trainTotal = trainPerClass * FashionMnist.ClassCount, testTotal = testPerClass * FashionMnist.ClassCount;
        return $"""
            # Fashion-MNIST subset

            A small fixed subset of [Fashion-MNIST](https://github.com/zalandoresearch/fashion-mnist)
            (Zalando Research; MIT licence, see `LICENSE`), kept in the repository so the examples run
            without downloading anything. The images are 28x28 grayscale PNG files in the image-folder
            layout that ML.NET's image loader and Model Builder read, `<split>/<class>/<id>.png`.
            The examples take the full data set instead with `--data <folder of the IDX files>`.

            ## What is here

            | folder | images per class | images |
            |---|---|---|
            | `{TrainFolder}/` | {trainPerClass} | {trainTotal} |
            | `{TestFolder}/` | {testPerClass} | {testTotal} |
            | total | | {trainTotal + testTotal} PNG files |

            - `{TrainFolder}/<class>/<id>.png` holds the first {trainPerClass} images of each class in the order of
              `train-images-idx3-ubyte`, `{TestFolder}/<class>/<id>.png` the first {testPerClass} of each class in the
              order of `t10k-images-idx3-ubyte`. `<id>` is the image's zero-based index in its IDX file,
              five digits (`{TrainFolder}/Ankle_boot/00000.png` is training image 0). Pixels are the IDX bytes
              unchanged (0 = black background).
            - Class folders use folder-safe names; `{LabelsFileName}` maps each to the official class name
              and the label index of the IDX files:

            | label | class | folder |
            |---|---|---|
            {classRows.ToString().TrimEnd('\n')}

            ## Source

            The IDX files of the Debian package `dataset-fashion-mnist`, Debian's copy of the data set
            Zalando Research publishes (`apt-get install dataset-fashion-mnist` puts them in
            `{FashionMnist.DefaultDataFolder}`).

            ## Regenerating

            From the repository root:

            ```
            dotnet run -c Release --project examples/MakeFashionMnistSubset -- --out {DefaultOutputFolder} --train-per-class {trainPerClass} --test-per-class {testPerClass}
            ```

            Add `--data <folder>` if the IDX files are not in `{FashionMnist.DefaultDataFolder}`.
            The output depends only on the IDX files and the two counts, and an image file that already holds
            its pixels is not rewritten. A test regenerates the subset and compares it with these files: the
            same files, the same text byte for byte, the same pixels in every image.

            """;
    }

    /// <summary>
    /// Fashion-MNIST's licence (MIT), as the Debian package's copyright file gives it; the copyright line
    /// is upstream's (the Debian file lost the "//" of the URL).
    /// </summary>
    private const string License = """
        The MIT License (MIT)

        Copyright (c) 2017 Zalando SE, https://tech.zalando.com

        Permission is hereby granted, free of charge, to any person obtaining a
        copy of this software and associated documentation files (the "Software"),
        to deal in the Software without restriction, including without limitation
        the rights to use, copy, modify, merge, publish, distribute, sublicense,
        and/or sell copies of the Software, and to permit persons to whom the
        Software is furnished to do so, subject to the following conditions:

        The above copyright notice and this permission notice shall be included
        in all copies or substantial portions of the Software.

        THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS
        OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
        MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT.
        IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY
        CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT,
        TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE
        SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

        """;
}
