// Where the committed Fashion-MNIST subset and the installed IDX files are, for the tests that check one against the other.
using System.Reflection;
using Microsoft.ML.Morphism.Samples;

namespace Microsoft.ML.Morphism.Tests.Samples;

/// <summary>The committed subset at examples/data/fashion-mnist, and the full data set when Debian's package is installed.</summary>
internal static class CommittedSubset
{
    /// <summary>The subset's folder, as the test project's build recorded it.</summary>
    public static string Folder { get; } = typeof(CommittedSubset).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "FashionMnistSubsetFolder").Value!;

    /// <summary>The committed splits and how many images of each class they hold.</summary>
    public static readonly (string Split, FashionMnistSplit Source, int PerClass)[] Splits =
    [
        (FashionMnistSubset.TrainFolder, FashionMnistSplit.Train, 200),
        (FashionMnistSubset.TestFolder, FashionMnistSplit.Test, 100),
    ];

    /// <summary>Whether the IDX files the subset was made from are installed (apt-get install dataset-fashion-mnist).</summary>
    public static bool IdxInstalled => Directory.Exists(FashionMnist.DefaultDataFolder);

    private static readonly Lazy<LabeledImages> Train = new(() => FashionMnist.Load(FashionMnistSplit.Train));
    private static readonly Lazy<LabeledImages> Test = new(() => FashionMnist.Load(FashionMnistSplit.Test));

    /// <summary>The installed IDX data of <paramref name="split"/>, read once for all tests (the training images are 47 MB).</summary>
    public static LabeledImages Idx(FashionMnistSplit split) => split == FashionMnistSplit.Train ? Train.Value : Test.Value;

    /// <summary>Every file under <paramref name="folder"/>, as forward-slash relative paths in ordinal order.</summary>
    public static string[] RelativeFiles(string folder) =>
        Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(path => Path.GetRelativePath(folder, path).Replace('\\', '/'))
            .Order(StringComparer.Ordinal)
            .ToArray();
}

/// <summary>A fact that needs the full Fashion-MNIST IDX files; skipped (and says why) where they are not installed.</summary>
internal sealed class FactWhenFashionMnistInstalledAttribute : FactAttribute
{
    public FactWhenFashionMnistInstalledAttribute()
    {
        if (!CommittedSubset.IdxInstalled)
            Skip = $"needs the Fashion-MNIST IDX files in {FashionMnist.DefaultDataFolder} (apt-get install dataset-fashion-mnist)";
    }
}
