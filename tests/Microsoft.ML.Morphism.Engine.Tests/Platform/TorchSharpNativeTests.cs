using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Platform;

/// <summary>TorchSharp's native library loads and trains (the Debian 12 libstdc++ fix is in the build output).</summary>
public class TorchSharpNativeTests
{
    [Fact]
    public void SmallCnnRunsForwardAndBackward()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(7);
        var conv = nn.Conv2d(1, 4, 3, padding: 1);
        var dense = nn.Linear(4 * 14 * 14, 3);
        var x = randn([8, 1, 28, 28], generator: generator);
        var target = tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 });

        var hidden = nn.functional.max_pool2d(nn.functional.relu(conv.forward(x)), 2);
        var logits = dense.forward(hidden.flatten(1));
        var loss = nn.functional.cross_entropy(logits, target);
        loss.backward();

        Assert.Equal(new long[] { 8, 3 }, logits.shape);
        Assert.True(float.IsFinite(loss.item<float>()));
        var grad = conv.weight!.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0f, "the conv weight received no gradient");
    }

    [Fact]
    public void BuildOutputCopyOfLibTorchSharpHasWeakGlibcxx3432Requirement()
    {
        if (!OperatingSystem.IsLinux())
            return; // the fix applies to Linux ELF outputs only
        var native = Directory.GetFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories);
        Assert.NotEmpty(native);
        foreach (var path in native)
        {
            // binutils' readelf, an implementation independent of ours, prints "Name: GLIBCXX_3.4.32  Flags: WEAK".
            var info = new ProcessStartInfo("readelf", ["-V", path]) { RedirectStandardOutput = true };
            using var process = Process.Start(info)!;
            var versions = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var line = versions.Split('\n').Single(l => l.Contains("Name: GLIBCXX_3.4.32"));
            Assert.Contains("WEAK", line);
        }
    }
}
