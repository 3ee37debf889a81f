// Two processes train the faulty-shape networks bit-identically: the numerics verdict is shared through its disk cache.
using System.IO.Compression;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Examples;

/// <summary>
/// The main job run twice, each in its own process, on the review's 8-channel network grown to 24
/// channels (the shapes oneDNN computes wrong on AVX-512 EPYC): every part of both saved models is
/// byte-identical, except the history part, which records each epoch's wall time. Before the
/// self-check these runs gave different weights or NaN.
/// </summary>
[Collection(nameof(ExamplesCollection))]
public class CrossProcessDeterminismTests
{
    [Fact]
    public void TheMainJobSavesByteIdenticalModelsInTwoProcesses()
    {
        using var first = new TempDirectory();
        using var second = new TempDirectory();
        string[] Args(string output) =>
        [
            "--train-per-class", "10", "--test-per-class", "5", "--epochs", "2", "--refit-epochs", "1", "--seeds", "42", "--threads", "1",
            "--architecture", "conv(8,3) relu conv(8,3) flatten dense(16) relu", "--plan", "widen(conv1, 24)", "--out", output,
        ];

        var a = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, Args(first.Path));
        var b = ExampleProcess.Run("GrowFashionMnist", ExampleSmoke.Timeout, Args(second.Path));

        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.True(b.ExitCode == 0, b.ToString());
        Assert.DoesNotContain("NNPACK", a.StandardError + a.StandardOutput);
        foreach (var model in new[] { "parent.zip", "child.zip" })
        {
            var left = Entries(Path.Combine(first.Path, model));
            var right = Entries(Path.Combine(second.Path, model));
            Assert.Equal(left.Keys.Order(), right.Keys.Order());
            Assert.Contains(left.Keys, name => name.EndsWith("/Weights", StringComparison.Ordinal));
            Assert.All(left.Keys.Where(name => !name.EndsWith("/History", StringComparison.Ordinal)), name => Assert.True(left[name].SequenceEqual(right[name]), $"{model}: entry {name} differs between the two processes"));
        }
    }

    private static Dictionary<string, byte[]> Entries(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        return zip.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        });
    }
}
