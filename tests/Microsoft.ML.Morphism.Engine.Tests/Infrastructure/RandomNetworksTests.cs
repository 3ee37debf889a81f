using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Infrastructure;

/// <summary>The property-test generators produce valid, runnable and varied networks.</summary>
public class RandomNetworksTests
{
    [Fact]
    public void GeneratedNetworksAreValidRunnableAndVaried()
    {
        var kinds = new HashSet<Type>();
        for (int seed = 0; seed < 300; seed++)
        {
            var net = seed % 4 == 3 ? RandomNetworks.Mlp(seed) : RandomNetworks.Cnn(seed);
            var weights = RandomNetworks.Weights(net, seed);
            using var scope = NewDisposeScope();
            using var module = new NetworkModule(net, weights);
            module.eval();
            var y = module.forward(randn(net.Input.WithBatch(3)));
            Assert.Equal(net.Output.WithBatch(3), y.shape);
            Assert.True(y.isfinite().all().item<bool>());
            kinds.UnionWith(net.AllLayers().Select(l => l.GetType()));
        }
        Assert.Superset(new HashSet<Type> { typeof(Conv2dLayer), typeof(BatchNormLayer), typeof(ParallelLayer), typeof(SkipLayer), typeof(Pool2dLayer),
            typeof(FlattenLayer), typeof(GlobalAvgPoolLayer), typeof(DenseLayer), typeof(ActivationLayer) }, kinds);
    }
}
