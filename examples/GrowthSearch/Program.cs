// The growth search: grow a Fashion-MNIST classifier with the GrowingImageClassifier trainer within a budget, and show its lineage.
// Exit codes (--help, README): 0 done, 1 bad files, 2 bad arguments, 4 the start network diverged, 5 a bug.
using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Examples.GrowthSearch;
using Microsoft.ML.Morphism.Samples;
using Microsoft.ML.Morphism.Search;
using Microsoft.ML.Morphism.Training;
using Microsoft.ML.Runtime;

if (SearchSettings.Parse(args, out var exitCode) is not { } settings)
    return exitCode; // --help (0), or bad arguments (2)

try
{
    return Run(settings);
}
catch (Exception e)
{
    return Failed(e);
}

static int Run(SearchSettings settings)
{
    var output = Directory.CreateDirectory(settings.OutputFolder).FullName;
    var ml = new MLContext(settings.Seed);
    var data = settings.IdxFolder is { } idx
        ? FashionMnistSplits.FromIdx(ml, idx, settings.TrainPerClass, settings.TestPerClass)
        : FashionMnistSplits.FromImageFolder(ml, ExampleData.SubsetFolder(typeof(SearchSettings).Assembly),
            settings.TrainPerClass, settings.TestPerClass, committedSubset: true);
    Console.WriteLine($"Data: {data.Description}");

    // MapValueToKey (+ LoadImages → ResizeImages → ConvertToGrayscale → ExtractPixels for the PNGs), fitted and read once
    // before the search: the decoding is then paid before the time budget is shared out, and the test images are ready.
    var featurizer = data.Featurizer.Fit(data.Train);
    IDataView trainFeatures, testFeatures;
    try
    {
        trainFeatures = ReadOnce(ml, featurizer.Transform(data.Train));
        testFeatures = ReadOnce(ml, featurizer.Transform(data.Test));
    }
    catch (Exception e) when (data.FirstUnreadableImage() is { } bad)
    {
        // ML.NET's image loader says "Invalid input stream contents"; name the file instead.
        throw new InvalidDataException($"Cannot read image '{bad}': ML.NET's image loader cannot decode it ({e.GetBaseException().Message}).", e);
    }

    var start = settings.StartNetwork();
    var timeBudget = SearchTimeBudget(settings);
    Console.WriteLine($"Start: {settings.Architecture} dense({FashionMnist.ClassCount}) ({start.TrainableParameterCount:N0} parameters), " +
                      $"{settings.InitialEpochs} initial epoch(s); budget {settings.BudgetText()}" +
                      (timeBudget is { } t ? $" ({t.TotalSeconds:F0} s left for the search after loading the data)" : "") +
                      $"; K = {settings.Children} children per round, E = {settings.EpochsPerTrial} epoch(s) per trial, up to {settings.MaxMorphs} morph(s) per child; " +
                      $"validation: {settings.ValidationFraction:P0} of the training images; seed {settings.Seed}");

    // The search's own progress lines (one per trial, the stop reason) come through ML.NET's log.
    string? stopReason = null, lastWarning = null;
    ml.Log += (_, e) =>
    {
        if (!e.Source.Contains("Growth search", StringComparison.Ordinal) || e.Kind is not (ChannelMessageKind.Info or ChannelMessageKind.Warning))
            return;
        if (e.Kind == ChannelMessageKind.Info && e.RawMessage.StartsWith("Search ", StringComparison.Ordinal))
            stopReason = e.RawMessage;
        if (e.Kind == ChannelMessageKind.Warning)
            Console.WriteLine($"  warning: {lastWarning = e.RawMessage}");
        else if (lastWarning is null || !lastWarning.StartsWith(e.RawMessage, StringComparison.Ordinal)) // a warning that already said it
            Console.WriteLine($"  {e.RawMessage}");
    };

    var options = new GrowingImageClassifierTrainer.Options
    {
        ImageHeight = FashionMnist.ImageSize,
        ImageWidth = FashionMnist.ImageSize,
        ImageChannels = 1,
        Network = start,
        LearningRate = settings.LearningRate,
        ShiftPixels = settings.Augmentation ? 2 : 0,
        HorizontalFlip = settings.Augmentation,
        Seed = settings.Seed,
        Threads = settings.Threads,
        TimeBudget = timeBudget,
        MacBudget = settings.MacBudget,
        MaxTrials = settings.MaxTrials,
        ChildrenPerRound = settings.Children,
        EpochsPerTrial = settings.EpochsPerTrial,
        MaxMorphsPerChild = settings.MaxMorphs,
        InitialEpochs = settings.InitialEpochs,
        FinalEpochs = settings.FinalEpochs,
        ValidationSetFraction = settings.ValidationFraction,
    };
    var grow = ml.MulticlassClassification.Trainers.GrowingImageClassifier(options)
        .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
    var grown = grow.Fit(trainFeatures);
    var model = new TransformerChain<ITransformer>(featurizer, grown); // the whole pipeline: raw rows in, class names out

    var classifier = ml.Morphism().FindClassifier(model);
    var lineage = classifier.Model.Lineage ?? throw new InvalidOperationException("The grown model holds no lineage.");
    // The test images were never seen by the search: validation chose every step. This is a monitor only.
    var testAccuracy = ml.MulticlassClassification.Evaluate(classifier.Transform(testFeatures)).MicroAccuracy;
    var totals = SearchTotals.Of(lineage, classifier, stopReason, testAccuracy);

    Console.WriteLine();
    Console.WriteLine("Lineage (* = selected: the incumbent's path; children under the trial they inherited from):");
    Console.Write(lineage.ToTree());
    Console.WriteLine();
    Console.WriteLine("Final network (* = created by the search's morphs, ~ = changed by them):");
    Console.WriteLine(classifier.Network.Summary(before: start));
    Console.WriteLine($"Morphs from the start network: {(classifier.MorphHistory.Count == 0 ? "none" : string.Join(" ", classifier.MorphHistory))}");
    SearchReport.Print(Console.Out, totals);

    // SaveModel writes through a temp file and a rename.
    ml.Morphism().SaveModel(model, data.Train.Schema, Path.Combine(output, "model.zip"));
    SearchPlot.Write(Path.Combine(output, "accuracy-vs-compute.png"), lineage, $"{data.ShortDescription}; seed {settings.Seed}");
    var wallSeconds = ProcessSeconds();
    SearchReport.WriteJson(Path.Combine(output, "results.json"), settings, data.Description, totals with { WallSeconds = wallSeconds }, lineage);
    Console.WriteLine();
    Console.WriteLine($"Wrote model.zip, results.json, accuracy-vs-compute.png to {output}");
    Console.WriteLine($"Wall time of the whole run: {wallSeconds:F1} s" + (settings.Budget is { } b ? $" (budget {b.TotalSeconds:F0} s)" : ""));
    return 0;
}

// The decoded features in memory: ML.NET's cache, filled by one pass over the label and the pixels.
static IDataView ReadOnce(MLContext ml, IDataView view)
{
    var cached = ml.Data.Cache(view, "Label", "Features");
    using var cursor = cached.GetRowCursor(cached.Schema.Where(c => c.Name is "Label" or "Features"));
    var pixels = cursor.GetGetter<VBuffer<float>>(cached.Schema["Features"]);
    var buffer = default(VBuffer<float>);
    while (cursor.MoveNext())
        pixels(ref buffer);
    return cached;
}

// The search's share of --budget: what is left of it after starting the process and loading the data, less a few
// seconds for what follows the search (measuring the test images, saving the model, drawing the plot).
static TimeSpan? SearchTimeBudget(SearchSettings settings)
{
    if (settings.Budget is not { } budget)
        return null;
    var afterSearch = TimeSpan.FromSeconds(3);
    var left = budget - TimeSpan.FromSeconds(ProcessSeconds()) - afterSearch;
    if (left < TimeSpan.FromSeconds(1))
        throw new ArgumentException($"Option '--budget': {budget:c} is used up before the search starts ({ProcessSeconds():F0} s to start and load the data, " +
                                    $"{afterSearch.TotalSeconds:F0} s kept for writing the results); give more time, or fewer images.");
    return TimeSpan.FromSeconds(Math.Floor(left.TotalSeconds));
}

static double ProcessSeconds() => (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds;

// Expected failures get one line on standard error and their exit code; only a bug shows a stack trace.
static int Failed(Exception e) => e switch
{
    // A missing or unreadable data folder or image, an unwritable --out folder.
    IOException or InvalidDataException or UnauthorizedAccessException => Fail(1, e.Message),
    // The library names the problem (an architecture it cannot grow, a setting out of range).
    ArgumentException => Fail(2, e.Message, helpHint: true),
    TrainingDivergedException => Fail(4, $"{e.Message} Lower --learning-rate."),
    _ => Fail(5, $"Unexpected error (a bug in the example or the library; please report it with what follows): {e}"),
};

static int Fail(int exitCode, string message, bool helpHint = false)
{
    Console.Error.WriteLine(message);
    if (helpHint)
        Console.Error.WriteLine("Run with --help for the options.");
    return exitCode;
}
