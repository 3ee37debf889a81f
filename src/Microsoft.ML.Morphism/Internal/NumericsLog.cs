// Runs the numerics self-check at an ML.NET entry point and reports a new verdict once to the host's log.
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Platform;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Morphism.Internal;

/// <summary>
/// Trainer, scorer and morph call this before a network's first float32 CPU convolution. The check
/// itself is the engine's (<see cref="ConvolutionNumerics"/>, also run by every NetworkModule);
/// here its decision reaches ML.NET's log: a warning when a workaround is in force, else info.
/// </summary>
internal static class NumericsLog
{
    public static void Ensure(IChannel channel, NetworkDescription network, string device = "cpu")
    {
        if (device != "cpu" || !ConvolutionNumerics.ConvolutionsOf(network).Any())
            return;
        ConvolutionNumerics.EnsureVerified(network);
        Report(channel);
    }

    public static void Report(IChannel channel)
    {
        if (ConvolutionNumerics.TakeReport() is not { } report)
            return;
        if (ConvolutionNumerics.Path == ConvolutionPath.Native)
            channel.Info(report);
        else
            channel.Warning(report);
    }
}
