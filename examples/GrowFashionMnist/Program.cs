// The main job: grow a Fashion-MNIST classifier by network morphism and compare it with training the child from scratch.
using Microsoft.ML;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Examples.GrowFashionMnist;
using Microsoft.ML.Morphism.Samples;

GrowSettings settings;
try
{
    settings = GrowSettings.Parse(args, out var helpRequested);
    if (helpRequested)
    {
        Console.WriteLine(GrowSettings.Usage);
        return 0;
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("Run with --help for the options.");
    return 2;
}

try
{
    var output = Directory.CreateDirectory(settings.OutputFolder).FullName;
    var loader = new MLContext(seed: 0);
    var data = settings.IdxFolder is { } idx
        ? FashionMnistData.FromIdx(loader, idx, settings.TrainPerClass, settings.TestPerClass, settings.HoldOutPerClass)
        : FashionMnistData.FromImageFolder(loader, settings.ImageFolder ?? ExampleData.SubsetFolder(typeof(GrowSettings).Assembly),
            settings.TrainPerClass, settings.TestPerClass);
    Console.WriteLine($"Data: {data.Description}");
    Console.WriteLine($"Parent: {settings.Architecture} dense(10), {settings.Epochs} epochs; morph: {settings.Plan}; " +
                      $"refit {settings.RefitEpochs} epochs; scratch {settings.EqualBudgetEpochs} epochs" +
                      (settings.LongScratchEpochs > 0 ? $" and {settings.LongScratchEpochs} epochs" : "") +
                      $"; augmentation {(settings.Augmentation ? "on" : "off")}; seeds {string.Join(", ", settings.Seeds)}");

    // Seeds may run at once (--parallel-seeds): each has its own MLContext, trainer generators and models.
    var results = new SeedResult[settings.Seeds.Count];
    var printing = new object();
    Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = settings.ParallelSeeds }, i =>
    {
        var seed = settings.Seeds[i];
        results[i] = new GrowExperiment(new MLContext(seed), data, settings, seed, Console.Out).Run();
        lock (printing)
            GrowReport.PrintSeed(Console.Out, results[i]);
    });

    // The first seed's models are the job's deliverables; SaveModel writes through a temp file and a rename.
    var first = results[0];
    var ml = new MLContext(first.Seed);
    ml.Morphism().SaveModel(first.ParentModel, first.InputSchema, Path.Combine(output, "parent.zip"));
    ml.Morphism().SaveModel(first.ChildModel, first.InputSchema, Path.Combine(output, "child.zip"));
    Console.WriteLine();
    Console.WriteLine("Parent network:");
    Console.WriteLine(first.ParentSummary);
    Console.WriteLine("Child network (* = created by the morph, ~ = changed by it):");
    Console.WriteLine(first.ChildSummary);

    var summary = GrowReport.Summarize(results);
    GrowReport.PrintSummary(Console.Out, summary);
    GrowReport.WriteJson(Path.Combine(output, "results.json"), settings, data.Description, results, summary);
    AccuracyPlot.Write(Path.Combine(output, "accuracy.png"), results);
    Console.WriteLine();
    Console.WriteLine($"Wrote parent.zip, child.zip, accuracy.png and results.json to {output}");
    return summary.EveryMorphExact ? 0 : 3;
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
catch (ArgumentException e)
{
    // The library names the problem (an unknown layer in --plan or --architecture, a shrinking morph, ...).
    Console.Error.WriteLine(e.Message);
    return 2;
}
