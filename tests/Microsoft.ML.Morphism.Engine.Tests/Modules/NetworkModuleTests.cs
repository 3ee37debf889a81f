// NetworkModule: every registered layer kind runs, forward matches TorchSharp's own layers, weights read back, P-activations clamp, bad inputs are rejected.
using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.ML.Morphism.Modules;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Morphism.Engine.Tests.Modules;

public class NetworkModuleTests
{
    [Fact]
    public void ReadWeightsReturnsWhatTheModuleWasBuiltWith()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) bn prelu skip(input) parallel(conv(4,3) | conv(4,1)) flatten dense(2)");
        var weights = NetworkWeights.Initialize(net, seed: 3);

        using var module = new NetworkModule(net, weights);
        var back = module.ReadWeights();

        Assert.Equal(weights.Keys, back.Keys);
        foreach (var key in weights.Keys)
            Assert.True(weights[key].Values.SequenceEqual(back[key].Values), key);
    }

    [Fact]
    public void ScoringFreesEachTopLevelInputOnceItsOutputExistsAndKeepsTheSameLogits()
    {
        // Issue 16: every intermediate output stayed alive for the row (12 relus after a big conv: 12 copies of it).
        var net = NetworkDescription.Parse("input(1,12,12) conv(4,3) relu relu relu relu relu relu skip(relu2) relu relu parallel(conv(4,3) | conv(4,1)) relu flatten dense(3)");
        var weights = NetworkWeights.Initialize(net, seed: 5);
        using var module = new NetworkModule(net, weights);
        module.eval();
        using var x = randn([2, 1, 12, 12], generator: new Generator(5));
        using var expected = module.Blob(x, "dense1").detach(); // a captured pass keeps everything, as before

        long live;
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            var y = module.forward(x);
            live = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
            Assert.Equal(0, (y - expected).abs().max().item<float>());
        }

        // Left alive: the logits and the skip source relu2 — not the other top-level outputs nor any layer's temporaries.
        Assert.True(live <= 3, $"{live} tensors alive after one forward pass");
    }

    [Fact]
    public void EveryRegisteredLayerKindHasATextFormAndAModule()
    {
        var net = NetworkDescription.Parse("input(3,4,4) conv(4,3) bn prelu skip(input) parallel(conv(4,3) relu | conv(4,1)) maxpool(2) dropout(0.5) " +
            "avgpool(2) parallel(gap | flatten) dense(6) tanh dense(2)");
        var registered = typeof(Layer).GetCustomAttributes<JsonDerivedTypeAttribute>().Select(a => a.DerivedType);
        var weights = NetworkWeights.Initialize(net, seed: 4);
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(net, weights);

        var y = module.forward(randn([2, 3, 4, 4], generator: new Generator(3)));

        Assert.Equal(registered.ToHashSet(), net.AllLayers().Select(l => l.GetType()).ToHashSet()); // a new kind belongs in this network
        Assert.Equal(net, NetworkDescription.Parse(net.ToString()));
        Assert.Equal([2L, 2], y.shape);
        Assert.Equal(weights.Keys, module.ReadWeights().Keys);
    }

    [Fact]
    public void ForwardMatchesTorchSharpsOwnLayers()
    {
        var net = NetworkDescription.Parse("input(2,9,9) conv(3,3,stride=2) relu maxpool(2) flatten dense(4)");
        var weights = NetworkWeights.Initialize(net, seed: 5, Precision.Float64);
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(net, weights);
        module.eval();
        var x = randn([5, 2, 9, 9], ScalarType.Float64, generator: new Generator(1));

        var expected = nn.functional.linear(
            nn.functional.max_pool2d(nn.functional.relu(nn.functional.conv2d(x, weights["conv1.weight"].ToTorch(), weights["conv1.bias"].ToTorch(), [2], [1])), [2]).flatten(1),
            weights["dense1.weight"].ToTorch(), weights["dense1.bias"].ToTorch());

        Assert.Equal(0.0, (module.forward(x) - expected).abs().max().item<double>(), 12);
    }

    [Theory]
    [InlineData(ActivationKind.ReLU)]
    [InlineData(ActivationKind.TanH)]
    [InlineData(ActivationKind.Sigmoid)]
    [InlineData(ActivationKind.ELU)]
    [InlineData(ActivationKind.GELU)]
    public void PActivationAtOneIsExactlyTheIdentityAndStillGetsGradient(ActivationKind kind)
    {
        var net = new NetworkBuilder(TensorShape.Vector(6)).Activation(kind, parametric: true).Build();
        var weights = NetworkWeights.Initialize(net, seed: 1).With($"{net.Layers[0].Name}.a", WeightTensor.Filled(1.0, 1));
        using var scope = NewDisposeScope();
        using var module = new NetworkModule(net, weights);
        var x = randn([4, 6], generator: new Generator(2)) * 3;

        var y = module.forward(x);
        y.sum().backward();

        Assert.True(y.eq(x).all().item<bool>(), "phi_1(x) must equal x bit for bit");
        var grad = module.parameters().Single().grad!.item<float>();
        var phi = kind switch
        {
            ActivationKind.ReLU => nn.functional.relu(x),
            ActivationKind.TanH => x.tanh(),
            ActivationKind.Sigmoid => x.sigmoid(),
            ActivationKind.ELU => nn.functional.elu(x, 1.0),
            _ => nn.functional.gelu(x),
        };
        Assert.Equal((x - phi).sum().item<float>(), grad, 3); // d/da [(1-a)phi(x) + a x] = x - phi(x)
        Assert.NotEqual(0f, grad);
    }

    [Fact]
    public void ClampKeepsActivationLinearityInUnitInterval()
    {
        var net = NetworkDescription.Parse("input(3) prelu ptanh");
        var weights = NetworkWeights.Initialize(net, 1)
            .With("prelu1.a", WeightTensor.Filled(1.7, 1))
            .With("ptanh1.a", WeightTensor.Filled(-0.3, 1));
        using var module = new NetworkModule(net, weights);

        module.ClampActivations();

        Assert.Equal(new Dictionary<string, double> { ["prelu1"] = 1.0, ["ptanh1"] = 0.0 }, module.ActivationLinearity());
    }

    [Fact]
    public void PerStepScalarsSurviveACollectorRunningAlongside()
    {
        // TorchSharp's Scalar hands its raw handle to native code and frees it in a finalizer: a number converted to a
        // Scalar on the fly (clamp_(0, 1), add(1)) can be finalized while libtorch still reads it, which failed at random
        // as "Expected false to be true ... toFloat" (Scalar.h) under a busy test run. Every per-step Scalar is now held
        // until its call returns; here the collector runs flat out beside the clamp, the forward pass and the cap.
        var net = NetworkDescription.Parse("input(3) prelu ptanh");
        var weights = NetworkWeights.Initialize(net, 1).With("prelu1.a", WeightTensor.Filled(1.7, 1)).With("ptanh1.a", WeightTensor.Filled(-0.3, 1));
        using var module = new NetworkModule(net, weights);
        using var x = ones(4, 3);
        WithACollectorRunning(20_000, () =>
        {
            module.ClampActivations();
            module.CapActivation("prelu1", 1.0);
            _ = module.forward(x);
        });

        Assert.Equal(new Dictionary<string, double> { ["prelu1"] = 1.0, ["ptanh1"] = 0.0 }, module.ActivationLinearity());
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    public void OptimizerStepsSurviveACollectorRunningAlongside(OptimizerKind kind)
    {
        // TorchSharp's own SGD step failed this within a few thousand steps (its weight decay and momentum Scalars).
        var net = NetworkDescription.Parse("input(3) dense(4) prelu dense(2)");
        using var module = new NetworkModule(net, NetworkWeights.Initialize(net, 1));
        var recipe = new TrainingRecipe { Optimizer = kind, LearningRate = 0.01 };
        var (optimizer, _) = NetworkTrainer.CreateOptimizer(recipe, module);
        using var x = ones(4, 3);
        using var y = zeros(4, ScalarType.Int64);
        using (optimizer)
        {
            WithACollectorRunning(10_000, () =>
            {
                var loss = nn.functional.cross_entropy(module.forward(x), y);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                module.ClampActivations();
            });
        }

        var weights = module.ReadWeights();
        Assert.All(weights.Keys, key => Assert.True(weights[key].Values.ToArray().All(double.IsFinite), key));
    }

    [Fact]
    public void WrongInputShapeIsRejectedBeforeNativeCode()
    {
        var net = NetworkDescription.Parse("input(1,8,8) conv(2,3) flatten dense(2)");
        using var module = new NetworkModule(net, NetworkWeights.Initialize(net, 1));
        using var x = zeros(3, 1, 9, 8);

        var e = Assert.Throws<ArgumentException>(() => module.forward(x));

        Assert.Contains("[N, 1, 8, 8]", e.Message);
    }

    [Fact]
    public void WeightsThatDoNotFitTheNetworkAreRejectedNamingTheKey()
    {
        var net = NetworkDescription.Parse("input(1,8,8) conv(2,3) flatten dense(2)");
        var weights = NetworkWeights.Initialize(net, 1).With("conv1.weight", WeightTensor.Zeros(2, 1, 5, 5));

        var e = Assert.Throws<ArgumentException>(() => new NetworkModule(net, weights));

        Assert.Contains("'conv1.weight' have shape [2, 1, 5, 5]", e.Message);
    }

    [Fact]
    public void Float32WeightsAreStoredExactlyAsTheyRun()
    {
        var net = NetworkDescription.Parse("input(2) dense(2)");
        var weights = NetworkWeights.Initialize(net, 1).With("dense1.weight", new WeightTensor([2, 2], [0.1, 0.2, 0.3, 1.0 / 3]));

        Assert.Equal((double)(float)0.1, weights["dense1.weight"].Values[0]);
    }

    // Runs step `steps` times, each in a dispose scope, while another thread runs the collector and finalizers flat out.
    private static void WithACollectorRunning(int steps, Action step)
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        try
        {
            for (int i = 0; i < steps; i++)
            {
                using var scope = NewDisposeScope();
                step();
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
