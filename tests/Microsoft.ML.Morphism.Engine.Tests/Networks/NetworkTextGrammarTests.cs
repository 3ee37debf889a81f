// The network text form on the shared grammar: round trips of random networks, the nesting limit, positioned and bounded error messages.
using System.Diagnostics;
using Microsoft.ML.Morphism.Engine.Tests.Infrastructure;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Networks;

public class NetworkTextGrammarTests
{
    [Fact]
    public void RandomNetworksParseBackFromTheirTextToAnEqualNetwork()
    {
        for (int seed = 0; seed < 200; seed++)
        {
            var net = Varied(seed % 4 == 3 ? RandomNetworks.Mlp(seed) : RandomNetworks.Cnn(seed), seed);

            var printed = net.ToString();
            var reparsed = NetworkDescription.Parse(printed);

            Assert.True(net.Equals(reparsed), $"seed {seed}: {printed} parsed back as {reparsed}");
            Assert.Equal(printed, reparsed.ToString());
            Assert.Equal(net, NetworkDescription.Parse(net.LayersToString(), net.Input));
        }
    }

    [Fact]
    public void SixtyFourNestedParenthesesParseAndPrintBack()
    {
        var text = "input(2,4,4) " + Nested(64) + " flatten dense(2)";

        var net = NetworkDescription.Parse(text);

        Assert.Equal(64, net.AllLayers().OfType<ParallelLayer>().Count());
        Assert.Equal(net, NetworkDescription.Parse(net.ToString()));
    }

    [Fact]
    public void EveryNestingTheTextAllowsRoundTripsThroughJson()
    {
        // Issue 16: 21 or more nested parallel blocks parsed, but the JSON form (what a saved model holds) failed at
        // System.Text.Json's default depth of 64 ("possible object cycle").
        var net = NetworkDescription.Parse("input(2,4,4) " + Nested(NetworkText.MaxDepth) + " flatten dense(2)");

        var json = net.ToJson();

        Assert.Equal(net, NetworkDescription.FromJson(json));
    }

    [Theory]
    [InlineData(65)]
    [InlineData(20_000)]
    public void DeeperNestingIsAFormatErrorNamingTheLimit(int depth)
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse("input(2,4,4) " + Nested(depth) + " flatten dense(2)"));

        Assert.Contains("more than 64 nested parentheses", e.Message);
        Assert.Contains($"position {"input(2,4,4) ".Length + 64 * "parallel(".Length + "parallel(".Length}:", e.Message); // at the 65th '('

    }

    [Fact]
    public void TwentyThousandBareParenthesesAreAFormatError()
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse("input(2,4,4) " + new string('(', 20_000) + new string(')', 20_000)));

        Assert.Contains("position 14: missing a name before '('", e.Message);
    }

    [Fact]
    public void ErrorsGiveThePositionAndQuoteAtMostEightyCharactersAroundIt()
    {
        var text = "input(1,8,8) " + string.Concat(Enumerable.Repeat("conv(4,3) relu ", 200)) + "conv(4,3,strid=2) " + string.Concat(Enumerable.Repeat("relu ", 100)) + "flatten dense(2)";

        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        int position = text.IndexOf("strid", StringComparison.Ordinal);
        Assert.StartsWith($"Network text, position {position + 1}: unknown option 'strid'; valid: stride, pad, dilation, groups, bias. Text: \"...", e.Message);
        var quote = e.Message[(e.Message.IndexOf("Text: \"", StringComparison.Ordinal) + 7)..^1];
        Assert.Equal(80, quote.Length);
        Assert.EndsWith("...", quote);
        Assert.Contains("conv(4,3,strid=2)", quote);
    }

    [Theory]
    [InlineData("input(1,8,8) conv(4 3) flatten dense(2)", "position 21: expected ',' between '4' and '3'")]
    [InlineData("input(1,8,8) conv(4,3,stride=2 pad=1) flatten dense(2)", "expected ',' between '2' and 'pad=1'")]
    [InlineData("input(1,8,8) conv(4,3 flatten dense(2)", "missing ')'")]
    [InlineData("input(1,8,8) conv(4,3)) flatten dense(2)", "position 23: unmatched ')'")]
    [InlineData("input(1,8,8) conv(4,,3) flatten dense(2)", "an empty argument")]
    [InlineData("input(1,8,8) parallel(conv(4,3) | ) flatten dense(2)", "an empty branch after '|'")]
    [InlineData("input(1,8,8) parallel(conv(4,3), conv(4,1)) flatten dense(2)", "expected '|' between branches, found ','")]
    [InlineData("input(1,8,8) conv(4,3|2) flatten dense(2)", "unexpected '|'")]
    [InlineData("input(1,8,8) conv(4,3) relu(2) flatten dense(2)", "'relu' takes no arguments")]
    [InlineData("input(1,8,8) conv(4,3,bias=maybe) flatten dense(2)", "bias must be true or false, got 'maybe'")]
    [InlineData("input(1,8,8) conv(4,3,stride=2,stride=1) flatten dense(2)", "option 'stride' given twice")]
    [InlineData("input(1,8,8) conv(4,3,pad=same,4) flatten dense(2)", "positional argument '4' after a named one")]
    [InlineData("input(1,8,8) conv(4,4,pad=same) flatten dense(2)", "pad=same needs an odd kernel")]
    [InlineData("input(1,8,8) conv flatten dense(2)", "expected '(' and the number of output channels after 'conv'")]
    [InlineData("input(1,8,8) flatten dense(2) x:", "expected a name after 'x:', found the end of the text")]
    [InlineData("input(1,8,8) conv(4,3) flatten dense(2) input(1,8,8)", "input(...) must come first")]
    [InlineData("input(1,8) flatten dense(2)", "input needs 3 dimensions (c,h,w) or 1 (n), got 2")]
    [InlineData("input(1,8,8) flatten dense(2) ä", "unexpected character 'ä'")]
    [InlineData("input(1,8,8) flatten dense(2), relu", "unexpected ','")]
    [InlineData("input(1,8,8) dropout(often) flatten dense(2)", "the dropout rate must be a number, got 'often'")]
    public void SyntaxErrorsSayWhatIsWrongAndWhere(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ParsingTakesLinearTime()
    {
        // A guard: an unclosed call of 400,000 characters is read once, without backtracking.
        var text = "input(1,8,8) conv(" + string.Concat(Enumerable.Repeat("4 ", 200_000));
        var watch = Stopwatch.StartNew();

        Assert.Throws<FormatException>(() => NetworkDescription.Parse(text));

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    // depth nested parallel blocks, each of the inner block and a relu; the innermost of two relus.
    private static string Nested(int depth) =>
        string.Concat(Enumerable.Repeat("parallel(", depth)) + "relu | relu" + string.Concat(Enumerable.Repeat(" | relu)", depth));

    // Non-default settings and morph marks sprinkled over a random network, so that the text prints all of them.
    private static NetworkDescription Varied(NetworkDescription net, int seed)
    {
        var random = new Random(seed);
        foreach (var layer in net.AllLayers().ToList())
        {
            Layer changed = layer switch
            {
                BatchNormLayer bn when random.Next(2) == 0 => bn with { Epsilon = random.NextDouble() / 100 + 1e-9, Momentum = 0.05 + random.NextDouble() * 0.9 },
                Conv2dLayer conv when random.Next(3) == 0 => conv with { Bias = false },
                DenseLayer dense when random.Next(3) == 0 => dense with { Bias = false },
                _ => layer,
            };
            if (random.Next(4) == 0)
                changed = changed with { Morphed = true };
            net = net.Replace(net.Locate(layer.Name), changed);
        }
        return net;
    }
}
