// Finds the repository the runner was built from: artifacts/, the committed PNG subset and the PyTorch script live there.
using System.Reflection;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

internal static class RepositoryPaths
{
    /// <summary>The repository root, recorded at build time (so it does not depend on the working folder).</summary>
    public static string Root { get; } = typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "RepositoryRoot")?.Value ?? Directory.GetCurrentDirectory();

    /// <summary>The committed Fashion-MNIST PNG subset (examples/data/fashion-mnist).</summary>
    public static string PngSubset => Path.Combine(Root, "examples", "data", "fashion-mnist");

    /// <summary>The PyTorch reference script.</summary>
    public static string PyTorchScript => Path.Combine(Root, "benchmarks", "pytorch", "train_throughput.py");
}
