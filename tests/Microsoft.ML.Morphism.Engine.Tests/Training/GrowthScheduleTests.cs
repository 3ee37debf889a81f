// The growth schedule's text and JSON forms, its builder and its error messages.
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Training;

namespace Microsoft.ML.Morphism.Engine.Tests.Training;

public class GrowthScheduleTests
{
    [Theory]
    [InlineData("epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)")]
    [InlineData("epoch 1: deepen(conv2, kernel=3, width=40, activation=elu, method=idmorph)")]
    [InlineData("epoch 2: kernel(conv2, 5) branch(conv1, 3); epoch 4: skip(relu1, conv3) bn(conv2) identity(relu2, kernel=3)")]
    public void TextRoundTrips(string text)
    {
        var schedule = GrowthSchedule.Parse(text);

        Assert.Equal(text, schedule.ToString());
        Assert.Equal(text, GrowthSchedule.Parse(schedule.ToString()).ToString());
        Assert.Equal(text, GrowthSchedule.FromJson(schedule.ToJson()).ToString());
    }

    [Fact]
    public void LooseTextReadsTheSameAndPrintsCanonically()
    {
        var schedule = GrowthSchedule.Parse("  epoch 6 :widen(dense1,128) ;epoch   3:  widen(conv1, 32), deepen(conv2) ; ");

        Assert.Equal("epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)", schedule.ToString());
        Assert.Equal([3, 6], schedule.Points.Select(p => p.Epoch));
        Assert.IsType<DeepenStep>(schedule.PlanAfter(3)!.Steps[1]);
        Assert.Null(schedule.PlanAfter(4));
    }

    [Fact]
    public void TheBuilderMatchesTheText()
    {
        var built = new GrowthSchedule()
            .At(6, new MorphPlan().Widen("dense1", 128))
            .At(3, p => p.Widen("conv1", 32).Deepen("conv2"));

        Assert.Equal(GrowthSchedule.Parse("epoch 3: widen(conv1, 32) deepen(conv2); epoch 6: widen(dense1, 128)").ToString(), built.ToString());
        Assert.Contains("\"epoch\":3", built.ToJson());
    }

    [Theory]
    [InlineData("", "has no entries")]
    [InlineData("widen(conv1, 32)", "entry 1 'widen(conv1, 32)': expected 'epoch N: morphs'")]
    [InlineData("epoch 3: widen(conv1, 32); deepen(conv2)", "entry 2 'deepen(conv2)': expected 'epoch N: morphs'")]
    [InlineData("epoch three: widen(conv1, 32)", "expected the epoch number after 'epoch'")]
    [InlineData("epoch 0: widen(conv1, 32)", "epoch '0' must be a whole number from 1")]
    [InlineData("epoch 99999999999: widen(conv1, 32)", "must be a whole number from 1")]
    [InlineData("epoch 3 widen(conv1, 32)", "expected ':' after 'epoch 3'")]
    [InlineData("epoch 3:", "epoch 3 has no morphs")]
    [InlineData("epoch 3: widen(conv1 32", "entry 1 'epoch 3: widen(conv1 32': Morph plan text, step 1")]
    [InlineData("epoch 3: grow(conv1)", "unknown morph")]
    [InlineData("epoch 3: widen(conv1, 32); epoch 3: deepen(conv2)", "epoch 3 already has an entry")]
    [InlineData("epoch 3: widen(conv1, 32);; epoch 4: deepen(conv2)", "entry 2 '': empty entry")]
    public void BadTextNamesTheEntryAndWhatIsWrong(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => GrowthSchedule.Parse(text));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void LongBadTextIsQuotedBriefly()
    {
        var text = "epoch 3: widen(conv1, 32); epoch 5 " + new string('x', 5000) + ": deepen(conv2)";

        var e = Assert.Throws<FormatException>(() => GrowthSchedule.Parse(text));

        Assert.Contains("entry 2", e.Message);
        Assert.True(e.Message.Length < 400, e.Message);
    }

    [Fact]
    public void PointsMustComeBeforeTheLastEpoch()
    {
        var schedule = GrowthSchedule.Parse("epoch 2: widen(conv1, 8); epoch 4: deepen(conv1)");

        schedule.Validate(maxEpoch: 5);
        var e = Assert.Throws<ArgumentException>(() => schedule.Validate(maxEpoch: 4));
        Assert.Contains("'epoch 4: deepen(conv1)' is not before the run's last epoch (4)", e.Message);
    }

    [Fact]
    public void BadJsonIsAFormatException()
    {
        Assert.Throws<FormatException>(() => GrowthSchedule.FromJson("[{\"epoch\":3,\"plan\":[{\"morph\":\"grow\"}]}]"));
        var e = Assert.Throws<FormatException>(() => GrowthSchedule.FromJson("[{\"epoch\":0,\"plan\":[{\"morph\":\"deepen\",\"after\":\"conv1\"}]}]"));
        Assert.Contains("epoch must be 1 or more", e.Message);
    }
}
