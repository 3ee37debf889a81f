// The plan text form: round trips, flexible separators, and errors that name the step and what is wrong.
using System.Diagnostics;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;

namespace Microsoft.ML.Morphism.Engine.Tests.Morphs;

public class MorphPlanTextTests
{
    [Fact]
    public void EveryStepsTextFormParsesBackToAnEqualStep()
    {
        var plan = new MorphPlan()
            .Deepen("conv2").Deepen("conv1", kernelSize: 3, width: 48, activation: ActivationKind.TanH, method: DeepenMethod.IdMorph)
            .Widen("conv1", 32).EnlargeKernel("conv2", 5).AddBranch("conv3").AddBranch("conv3", 3).AddSkip("conv1", "conv3").InsertBatchNorm("conv2");

        var parsed = MorphPlan.Parse(plan.ToString());

        Assert.Equal(plan.Steps, parsed.Steps);
        Assert.Equal(plan.ToString(), parsed.ToString());
    }

    [Fact]
    public void SeparatorsAndSpacingAreFlexible()
    {
        var parsed = MorphPlan.Parse(" deepen( conv2 ,kernel=3 ); widen(conv1,32),\n kernel(conv2, 5) ");

        Assert.Equal("deepen(conv2, kernel=3) widen(conv1, 32) kernel(conv2, 5)", parsed.ToString());
    }

    [Theory]
    [InlineData("grow(conv1)", "unknown morph")]
    [InlineData("widen(conv1)", "expected 2 positional argument(s), got 1")]
    [InlineData("widen(conv1, wide)", "the new width must be an integer")]
    [InlineData("deepen(conv1, depth=2)", "unknown option 'depth'")]
    [InlineData("deepen(conv1, method=magic)", "method must be one of netmorph, idmorph")]
    [InlineData("deepen(conv1) + widen(conv1, 9)", "unexpected '+'")]
    [InlineData("   ", "has no steps")]
    [InlineData("widen(conv1, 32) kernel(conv2 5)", "step 2 'kernel(conv2 5)': expected ',' between 'conv2' and '5'")]
    [InlineData("deepen(conv2, kernel=3 width=48)", "step 1 'deepen(conv2, kernel=3 width=48)': expected ',' between '3' and 'width=48'")]
    [InlineData("deepen(conv2) widen conv1, 32)", "step 2 'widen conv1, 32)': missing '(' after the morph name")]
    [InlineData("deepen(conv2) widen", "step 2 'widen': missing '(' and ')'")]
    [InlineData("(conv1, 32)", "step 1 '(conv1, 32)': missing the morph name before '('")]
    [InlineData("widen(conv1, (32))", "step 1 'widen(conv1, (32))': parentheses inside the arguments")]
    [InlineData("widen(conv1, 32))", "after step 1 (position 17): unmatched ')'")]
    public void InvalidPlanTextIsRejectedNamingTheProblem(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => MorphPlan.Parse(text));

        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void AnUnclosedStepSaysWhichStepAndThatItMissesTheClosingParenthesis()
    {
        var e = Assert.Throws<FormatException>(() => MorphPlan.Parse("widen(conv1 32"));

        Assert.Equal("Morph plan text, step 1 'widen(conv1 32': missing ')'.", e.Message);
    }

    [Fact]
    public void AMissingCommaBetweenArgumentsIsNamedAndTheWholePlanQuoted()
    {
        var e = Assert.Throws<FormatException>(() => MorphPlan.Parse("deepen(conv2) widen(conv1 32) kernel(conv2, 5)"));

        Assert.Equal("Morph plan text, step 2 'widen(conv1 32)': expected ',' between 'conv1' and '32'. " +
                     "Plan: \"deepen(conv2) widen(conv1 32) kernel(conv2, 5)\"", e.Message);
    }

    [Fact]
    public void MessagesQuoteAtMostEightyCharactersOfTheText()
    {
        var longLayer = new string('x', 500);

        var e = Assert.Throws<FormatException>(() => MorphPlan.Parse($"widen({longLayer} 32"));

        Assert.Contains("missing ')'", e.Message);
        Assert.DoesNotContain(new string('x', 81), e.Message);
        Assert.True(e.Message.Length < 200, e.Message);
    }

    [Fact]
    public void RandomPlansParseBackFromTheirTextToEqualSteps()
    {
        var random = new Random(7);
        string Name() => random.Next(3) switch { 0 => $"conv{random.Next(1, 20)}", 1 => $"dense_{random.Next(100)}", _ => "input" };
        for (int i = 0; i < 300; i++)
        {
            var plan = new MorphPlan();
            for (int s = random.Next(1, 6); s > 0; s--)
            {
                plan.Add(random.Next(6) switch
                {
                    0 => new DeepenStep(Name(), random.Next(1, 4) * 2 - 1, random.Next(2) == 0 ? null : random.Next(1, 200),
                        random.Next(2) == 0 ? null : (ActivationKind)random.Next(5), (DeepenMethod)random.Next(2)),
                    1 => new WidenStep(Name(), random.Next(-5, 500)),
                    2 => new EnlargeKernelStep(Name(), random.Next(1, 9)),
                    3 => new AddBranchStep(Name(), random.Next(1, 6)),
                    4 => new AddSkipStep(Name(), Name()),
                    _ => new InsertBatchNormStep(Name()),
                });
            }

            var parsed = MorphPlan.Parse(plan.ToString());

            Assert.Equal(plan.Steps, parsed.Steps);
            Assert.Equal(plan.ToString(), parsed.ToString());
        }
    }

    [Fact]
    public void TwentyThousandNestedParenthesesAreAFormatErrorNotAStackOverflow()
    {
        var nested = new string('(', 20_000) + new string(')', 20_000);

        var inside = Assert.Throws<FormatException>(() => MorphPlan.Parse($"widen(conv1, {nested})"));
        var alone = Assert.Throws<FormatException>(() => MorphPlan.Parse(nested));

        Assert.Contains("parentheses inside the arguments", inside.Message);
        Assert.Contains("missing the morph name before '('", alone.Message);
        Assert.True(inside.Message.Length < 250 && alone.Message.Length < 250, inside.Message + alone.Message);
    }

    [Fact]
    public void PlanTextAndStepCountAreCapped()
    {
        // Issue 16: 1 MB of valid steps ran past 120 s and 6.6 GB. Limits, checked before the work.
        var tooLong = Assert.Throws<FormatException>(() => MorphPlan.Parse(new string(' ', MorphPlan.MaxTextLength + 1)));
        var steps = string.Concat(Enumerable.Repeat("bn(conv1) ", MorphPlan.MaxSteps + 1));
        var tooMany = Assert.Throws<FormatException>(() => MorphPlan.Parse(steps));
        var json = new MorphPlan(Enumerable.Repeat<MorphStep>(new InsertBatchNormStep("conv1"), MorphPlan.MaxSteps + 1)).ToJson();
        var tooManyJson = Assert.Throws<FormatException>(() => MorphPlan.FromJson(json));
        var net = NetworkDescription.Parse("input(1,8,8) conv1:conv(2,3) flatten dense(2)");
        var tooManyApplied = Assert.Throws<ArgumentException>(() =>
            new MorphPlan(Enumerable.Repeat<MorphStep>(new InsertBatchNormStep("conv1"), MorphPlan.MaxSteps + 1)).Apply(net, NetworkWeights.Initialize(net, seed: 1)));

        Assert.Equal($"Morph plan text is {MorphPlan.MaxTextLength + 1:N0} characters long; the limit is 65,536 (1,000 steps at most).", tooLong.Message);
        Assert.StartsWith("Morph plan text has more than 1,000 steps (the limit); step 1001 starts at position 10001.", tooMany.Message);
        Assert.Equal("Morph plan JSON has 1,001 steps; the limit is 1,000.", tooManyJson.Message);
        Assert.Equal("The morph plan has 1,001 steps; the limit is 1,000.", tooManyApplied.Message);
        Assert.Equal(MorphPlan.MaxSteps, MorphPlan.Parse(string.Concat(Enumerable.Repeat("bn(conv1) ", MorphPlan.MaxSteps))).Steps.Count);
    }

    [Fact]
    public void ParsingTakesLinearTime()
    {
        // A guard: the parser reads each character a bounded number of times, whatever the text (no backtracking).
        var text = "deepen(conv2) " + new string('a', MorphPlan.MaxTextLength - 100);
        var watch = Stopwatch.StartNew();

        var e = Assert.Throws<FormatException>(() => MorphPlan.Parse(text));

        Assert.Contains("step 2", e.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }
}
