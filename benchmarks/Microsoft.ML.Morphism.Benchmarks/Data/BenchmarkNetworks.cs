// The two networks the training and scoring suites measure: the trainer's default for 28×28 and a wider/deeper child grown from it.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Benchmarks.Data;

internal static class BenchmarkNetworks
{
    /// <summary>The morph plan that grows the child: wider convolutions and dense layer, one inserted 1×1 conv with a P-activation.</summary>
    public const string ChildPlan = "widen(conv1, 32) widen(conv2, 64) deepen(conv2) widen(dense1, 128)";

    /// <summary>
    /// <c>MorphableImageClassifierTrainer.DefaultArchitecture(28, 28)</c> plus the dense(10) output layer,
    /// exactly the network the trainer builds for Fashion-MNIST when no architecture is given.
    /// </summary>
    public static NetworkDescription Default { get; } = NetworkDescription.Parse(
        $"input(1,{FashionMnistData.ImageSize},{FashionMnistData.ImageSize}) {MorphableImageClassifierTrainer.DefaultArchitecture(FashionMnistData.ImageSize, FashionMnistData.ImageSize)} dense(10)");

    /// <summary>The default network grown by <see cref="ChildPlan"/> (from seeded initial weights).</summary>
    public static NetworkDescription Child { get; } = MorphPlan.Parse(ChildPlan)
        .Apply(Default, NetworkWeights.Initialize(Default, seed: 1), new MorphContext(seed: 1)).Network;

    public static IReadOnlyList<(string Name, NetworkDescription Network)> Both { get; } = [("default", Default), ("child", Child)];

    /// <summary>Both networks, or only the one named by <c>--network</c>.</summary>
    public static IEnumerable<(string Name, NetworkDescription Network)> Selected(string? only) => Both.Where(n => only is null || n.Name == only);
}
