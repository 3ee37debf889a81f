using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

public class NetworkTextTests
{
    private const string SmallCnn = "input(1,28,28) conv(16,3) relu maxpool(2) conv(32,3) relu maxpool(2) flatten dense(64) relu dense(10)";

    [Fact]
    public void ParseAssignsDefaultNamesPerKindInOrder()
    {
        var net = NetworkDescription.Parse(SmallCnn);

        Assert.Equal(["conv1", "relu1", "maxpool1", "conv2", "relu2", "maxpool2", "flatten1", "dense1", "relu3", "dense2"],
            net.Layers.Select(l => l.Name));
    }

    [Fact]
    public void ConvPaddingDefaultsToSameForOddKernels()
    {
        var net = NetworkDescription.Parse("input(3,32,32) conv(8,5) conv(8,4) conv(8,3,dilation=2)");

        Assert.Equal(2, ((Conv2dLayer)net["conv1"]).Padding);
        Assert.Equal(0, ((Conv2dLayer)net["conv2"]).Padding);
        Assert.Equal(2, ((Conv2dLayer)net["conv3"]).Padding);
    }

    [Fact]
    public void ShapesFollowConvPoolAndFlattenArithmetic()
    {
        var net = NetworkDescription.Parse(SmallCnn);

        Assert.Equal(TensorShape.Image(16, 28, 28), net.Shapes["conv1"].Output);
        Assert.Equal(TensorShape.Image(32, 7, 7), net.Shapes["maxpool2"].Output);
        Assert.Equal(TensorShape.Vector(32 * 7 * 7), net.Shapes["flatten1"].Output);
        Assert.Equal(TensorShape.Vector(10), net.Output);
    }

    [Theory]
    [InlineData(SmallCnn)]
    [InlineData("input(3,32,32) conv(8,3,stride=2,pad=0,bias=false) bn(eps=0.001,momentum=0.2) ptanh avgpool(3,stride=2,pad=1) gap dropout(0.25) dense(5,bias=false)")]
    [InlineData("input(3,16,16) conv(8,3) parallel(conv(8,3) relu | conv(8,1) | c9:conv(8,5)*) bn skip(conv1) relu gap dense(4)")]
    [InlineData("input(20) dense(30) pgelu d2:dense(30)* pelu* skip(input) sigmoid dense(3)")]
    [InlineData("input(1,8,8) conv2:conv(4,3) conv1:conv(4,3) conv(4,3) flatten dense(2)")]
    public void ToStringParsesBackToAnEqualNetwork(string text)
    {
        var net = NetworkDescription.Parse(text);

        var printed = net.ToString();
        var reparsed = NetworkDescription.Parse(printed);

        Assert.Equal(net, reparsed);
        Assert.Equal(printed, reparsed.ToString());
    }

    [Fact]
    public void ToStringOmitsDefaults()
    {
        Assert.Equal(SmallCnn, NetworkDescription.Parse(SmallCnn).ToString());
    }

    [Fact]
    public void JsonRoundTripsEverything()
    {
        var net = NetworkDescription.Parse("input(3,16,16) conv(8,3,stride=2) parallel(conv(8,3) prelu | x:conv(8,1)*) bn(eps=0.01) skip(conv1) relu gap dropout(0.5) dense(4)");

        var json = net.ToJson();
        var back = NetworkDescription.FromJson(json);

        Assert.Equal(net, back);
        Assert.Equal(json, back.ToJson());
    }

    [Fact]
    public void BuilderAndTextGiveTheSameNetwork()
    {
        var built = new NetworkBuilder(TensorShape.Image(1, 28, 28))
            .Conv(16, 3).ReLU().MaxPool(2).Conv(32, 3).ReLU().MaxPool(2).Flatten().Dense(64).ReLU().Dense(10)
            .Build();

        Assert.Equal(NetworkDescription.Parse(SmallCnn), built);
    }

    [Fact]
    public void ParseWithInputShapeAcceptsLayersOnly()
    {
        var net = NetworkDescription.Parse("conv(4,3) flatten dense(2)", TensorShape.Image(1, 5, 5));

        Assert.Equal(TensorShape.Image(1, 5, 5), net.Input);
        Assert.Equal("conv(4,3) flatten dense(2)", net.LayersToString());
    }

    [Theory]
    [InlineData("input(1,8,8) conv(4)", "expected ','")]
    [InlineData("input(1,8,8) conv(4,3,strid=2)", "unknown option 'strid'")]
    [InlineData("input(1,8,8) convolution(4,3)", "unknown layer kind 'convolution'")]
    [InlineData("input(1,8,8) conv(4,3) dense(2)", "Layer 'dense1': a dense layer needs a vector input")]
    [InlineData("input(1,8,8) conv(4,3) a:relu a:relu", "'a' is used twice")]
    [InlineData("input(1,8,8) conv(4,3) skip(conv9)", "'conv9' is not an earlier top-level layer")]
    [InlineData("input(1,8,8) conv(4,9,pad=0)", "does not fit")]
    [InlineData("input(1,8,8) parallel(conv(4,3) | conv(5,3))", "branch 2 produces 5×8×8 but branch 1 produces 4×8×8")]
    [InlineData("conv(4,3)", "no input shape")]
    [InlineData("input(1,8,8) conv(0,3)", "out channels must be positive")]
    public void InvalidTextGivesAFormatExceptionNamingTheProblem(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void UnknownLayerNameListsTheValidNames()
    {
        var net = NetworkDescription.Parse(SmallCnn);

        var e = Assert.Throws<ArgumentException>(() => net["conv9"]);

        Assert.Contains("No layer named 'conv9'", e.Message);
        Assert.Contains("conv1, relu1", e.Message);
    }

    [Fact]
    public void SummaryListsLayersShapesParametersAndMorphMarks()
    {
        var net = NetworkDescription.Parse("input(1,28,28) conv(16,3) conv1_d1:conv(16,1)* relu flatten dense(10)");

        var summary = net.Summary();

        Assert.Contains("conv1 (conv 3×3)", summary);
        Assert.Contains("16×28×28", summary);
        Assert.Contains("160", summary); // 16·1·3·3 + 16
        Assert.Contains("* conv1_d1 (conv 1×1)", summary);
        Assert.Contains($"Total params: {net.ParameterCount:N0}", summary);
        Assert.Contains("* created by a morph", summary);
    }

    [Fact]
    public void SummaryComparedWithTheParentMarksTheLayersAMorphChanged()
    {
        var parent = NetworkDescription.Parse("input(1,28,28) conv(16,3) relu maxpool(2) conv(32,3) relu flatten dense(64) relu dense(10)");
        var child = new Microsoft.ML.Morphism.Morphs.MorphPlan().Widen("conv1", 24).EnlargeKernel("conv2", 5).Deepen("dense1", width: 96)
            .Apply(parent, NetworkWeights.Initialize(parent, 1)).Network;

        var lines = child.Summary(parent).Split(Environment.NewLine);

        string Line(string layer) => lines.Single(l => l.TrimStart('*', '~', ' ').StartsWith(layer + " ", StringComparison.Ordinal));
        Assert.StartsWith("~ conv1 (conv 3×3)", Line("conv1"));     // 24 channels instead of 16
        Assert.StartsWith("~ conv2 (conv 5×5)", Line("conv2"));     // larger kernel, more input channels
        Assert.StartsWith("~ dense1 (dense)", Line("dense1"));      // split by the deepen into 96 units, then dense1_d1
        Assert.StartsWith("* dense1_d1 (dense)", Line("dense1_d1"));
        Assert.StartsWith("  relu1 (relu)", Line("relu1"));
        Assert.StartsWith("  dense2 (dense)", Line("dense2"));      // same 64 inputs, same 10 units
        Assert.Contains("~ changed compared with the network before", lines);
        Assert.DoesNotContain("~", child.Summary());
    }

    [Fact]
    public void ParameterSpecsCoverEveryLayerWithWeights()
    {
        var net = NetworkDescription.Parse("input(3,8,8) conv(4,3) bn prelu skip(input) flatten dense(2,bias=false)");

        Assert.Equal(
            ["conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "prelu1.a", "skip1.weight", "dense1.weight"],
            net.ParameterSpecs.Select(p => p.Key));
        Assert.Equal([4L, 3, 1, 1], net.ParameterSpecs.Single(p => p.Key == "skip1.weight").Shape);
    }
}
