// The main job: grow a Fashion-MNIST classifier by network morphism and compare it with training the child from scratch.
// Exit codes (--help, README): 0 done, 1 bad files, 2 bad arguments, 3 a morph not exact, 4 an arm diverged, 5 a bug.
using Microsoft.ML;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Examples.GrowFashionMnist;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Training;

if (GrowSettings.Parse(args, out var exitCode) is not { } settings)
    return exitCode; // --help (0), or bad arguments (2)

try
{
    return Run(settings);
}
catch (Exception e)
{
    return Failed(e);
}

static int Run(GrowSettings settings)
{
    var output = Directory.CreateDirectory(settings.OutputFolder).FullName;
    var loader = new MLContext(seed: 0);
    var data = settings.IdxFolder is { } idx
        ? FashionMnistSplits.FromIdx(loader, idx, settings.TrainPerClass, settings.TestPerClass, settings.HoldOutPerClass)
        : FashionMnistSplits.FromImageFolder(loader, settings.ImageFolder ?? ExampleData.SubsetFolder(typeof(GrowSettings).Assembly),
            settings.TrainPerClass, settings.TestPerClass, committedSubset: settings.ImageFolder is null);
    Console.WriteLine($"Data: {data.Description}");
    Console.WriteLine($"Parent: {settings.Architecture} dense(10), {settings.Epochs} epochs; morph: {settings.Plan}; " +
                      $"refit {settings.RefitEpochs} epochs; scratch {settings.EqualBudgetEpochs} epochs" +
                      (settings.LongScratchEpochs > 0 ? $" and {settings.LongScratchEpochs} epochs" : "") +
                      $"; augmentation {(settings.Augmentation ? "on" : "off")}; seeds {string.Join(", ", settings.Seeds)}");

    // Seeds may run at once (--parallel-seeds): each has its own MLContext, trainer generators and models.
    // An arm that diverges comes back as a result that says so (GrowExperiment): it does not stop the other arms or seeds.
    var results = new SeedResult[settings.Seeds.Count];
    var printing = new object();
    try
    {
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = settings.ParallelSeeds }, i =>
        {
            var seed = settings.Seeds[i];
            results[i] = new GrowExperiment(new MLContext(seed), data, settings, seed, Console.Out).Run();
            lock (printing)
                GrowReport.PrintSeed(Console.Out, results[i], settings);
        });
    }
    catch (Exception e) when (data.FirstUnreadableImage() is { } bad)
    {
        // ML.NET's image loader fails deep inside training with "Invalid input stream contents"; name the file instead.
        var cause = e;
        while (cause.InnerException is { } inner)
            cause = inner;
        throw new InvalidDataException($"Cannot read image '{bad}': ML.NET's image loader cannot decode it ({cause.Message}).", e);
    }

    // The first seed whose parent trained gives the job's deliverables; SaveModel writes through a temp file and a rename.
    var written = new List<string>();
    if (results.FirstOrDefault(r => r.ParentModel is not null && r.ChildModel is not null) is { } first)
    {
        var ml = new MLContext(first.Seed);
        ml.Morphism().SaveModel(first.ParentModel!, first.InputSchema, Path.Combine(output, "parent.zip"));
        ml.Morphism().SaveModel(first.ChildModel!, first.InputSchema, Path.Combine(output, "child.zip"));
        written.AddRange(["parent.zip", "child.zip"]);
        Console.WriteLine();
        Console.WriteLine($"Parent network{(first.Seed != results[0].Seed ? $" (seed {first.Seed})" : "")}:");
        Console.WriteLine(first.ParentSummary);
        Console.WriteLine("Child network (* = created by the morph, ~ = changed by it):");
        Console.WriteLine(first.ChildSummary);
    }

    var summary = GrowReport.Summarize(results, settings);
    GrowReport.PrintSummary(Console.Out, summary, results);
    GrowReport.WriteJson(Path.Combine(output, "results.json"), settings, data.Description, results, summary);
    AccuracyPlot.Write(Path.Combine(output, "accuracy.png"), results, data.ShortDescription);
    written.AddRange(["accuracy.png", "results.json"]);
    Console.WriteLine();
    Console.WriteLine($"Wrote {string.Join(", ", written)} to {output}");
    if (written.Count == 2)
        Console.WriteLine("No model written: no seed's parent finished training.");

    // One line on standard error per arm that diverged: the library's sentence says where and what to lower.
    foreach (var result in results)
    {
        foreach (var arm in result.Arms.Where(a => a.Diverged))
            Console.Error.WriteLine($"Seed {result.Seed}, {arm.Name}: {arm.Divergence!.Message}");
    }
    return !summary.EveryMorphExact ? 3 : summary.DivergedArms.Length > 0 ? 4 : 0;
}

// Expected failures get one line on standard error and their exit code; only a bug shows a stack trace.
static int Failed(Exception e)
{
    if (e is AggregateException aggregate)
        return Failed(aggregate.Flatten().InnerExceptions[0]); // Parallel.For wraps what a seed threw
    return e switch
    {
        // A missing or unreadable data folder or image, an unwritable --out folder.
        IOException or InvalidDataException or UnauthorizedAccessException => Fail(1, e.Message),
        // The library names the problem (a layer in --plan or --architecture, --holdout-per-class overlapping the training images, ...).
        ArgumentException => Fail(2, e.Message, helpHint: true),
        // GrowExperiment turns every arm's divergence into a result; this is a safety net.
        TrainingDivergedException => Fail(4, e.Message),
        _ => Fail(5, $"Unexpected error (a bug in the job or the library; please report it with what follows): {e}"),
    };
}

static int Fail(int exitCode, string message, bool helpHint = false)
{
    Console.Error.WriteLine(message);
    if (helpHint)
        Console.Error.WriteLine("Run with --help for the options.");
    return exitCode;
}
