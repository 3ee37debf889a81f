// ModelUpgrade: grows the classifier inside a saved .zip model with a morph plan from the command line, optionally refits, writes a new .zip.
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Morphism;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Samples;
using ModelUpgradeCli;

object? command;
try
{
    command = CommandLine.Parse(args, out var exitCode);
    if (command is null)
        return exitCode; // --help (0), or bad arguments (2)
}
catch (DirectoryNotFoundException e)
{
    return Fail(1, e.Message);
}

try
{
    switch (command)
    {
        case DemoParentSettings demo:
            DemoParent.Make(demo);
            return 0;
        default:
            return Upgrade((UpgradeSettings)command);
    }
}
catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
{
    // A missing or damaged model, a model without the classifier, a missing image folder, an unwritable --out.
    return Fail(1, e.Message);
}

static int Upgrade(UpgradeSettings settings)
{
    MorphPlan plan;
    try
    {
        plan = MorphPlan.Parse(settings.Plan);
    }
    catch (FormatException e)
    {
        return Fail(2, $"Bad --plan: {e.Message}");
    }

    var ml = new MLContext(seed: 1);
    var input = SavedModel.Load(ml, settings.Model);
    IDataView? refitData = null;
    IReadOnlyList<ImageFolderRow>? refitRows = null;
    if (settings.RefitData is { } folder)
    {
        if (input.WhyImageRowsDoNotFit() is { } problem)
            return Fail(1, problem);
        var rows = ExampleData.TakePerClass(ExampleData.ClassFolderRows(folder), settings.RefitPerClass);
        if (UnknownClasses(rows, input.Classifier) is { } unknown)
            return Fail(1, unknown);
        refitData = ml.Data.LoadFromEnumerable(rows);
        refitRows = rows;
        Console.WriteLine($"Refit data: {rows.Count} images of {rows.Select(r => r.Label).Distinct().Count()} classes in {folder}");
    }

    Console.WriteLine($"Upgrading {settings.Model} with: {plan}");
    ModelUpgrade upgrade;
    try
    {
        Directory.CreateDirectory(Path.GetDirectoryName(settings.Out)!);
        upgrade = ml.Morphism().UpgradeModel(settings.Model, settings.Out, plan,
            refitData, refitData is null ? null : new RefitOptions { MaxEpoch = settings.RefitEpochs });
    }
    catch (ArgumentException e)
    {
        // The library names the offending layer and the valid choices, e.g. an unknown layer or a shrinking widen.
        return Fail(2, $"The plan does not fit this model: {e.Message}");
    }
    catch (InvalidOperationException e) when (refitRows is not null && FirstUnreadableImage(refitRows) is { } bad)
    {
        // ML.NET's image loader says only "Invalid input stream contents", deep inside; name the file instead.
        return Fail(1, $"Cannot read refit image '{bad}': ML.NET's image loader cannot decode it ({e.GetBaseException().Message}).");
    }

    Console.WriteLine();
    Console.WriteLine("Before:");
    Console.WriteLine(upgrade.Before.Summary());
    Console.WriteLine("After:");
    Console.WriteLine(upgrade.After.Summary(before: upgrade.Before));
    Console.WriteLine("Preservation (the morphed network against the input model, before any refit):");
    Console.WriteLine(upgrade.Report);
    Console.WriteLine();
    PrintRefit(upgrade);
    Console.WriteLine($"Wrote {settings.Out} ({new FileInfo(settings.Out).Length:N0} bytes; morph history: "
        + $"{string.Join(" ", ml.Morphism().FindClassifier(upgrade.Model).MorphHistory)}).");
    return 0;
}

static void PrintRefit(ModelUpgrade upgrade)
{
    if (upgrade.Refit.Count == 0)
    {
        Console.WriteLine("Refit: none (morph only: the upgraded model scores like the input model).");
        return;
    }
    Console.WriteLine($"Refit: {upgrade.Refit.Count(e => e.Epoch > 0)} epoch(s)");
    Console.WriteLine("  epoch  train loss  train accuracy  learning rate  seconds");
    foreach (var epoch in upgrade.Refit)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {epoch.Epoch,5}  {epoch.TrainLoss,10:F4}  {epoch.TrainAccuracy,14:P1}  {epoch.LearningRate,13:G3}  {epoch.Seconds,7:F1}"));
    }
    Console.WriteLine();
}

// Refit rows whose label the model does not know would become missing keys and be skipped silently.
static string? UnknownClasses(IReadOnlyList<ImageFolderRow> rows, MorphableImageClassifierTransformer classifier)
{
    var unknown = rows.Select(r => r.Label).Distinct().Where(label => !classifier.Model.ClassNames.Contains(label)).ToList();
    return unknown.Count == 0 ? null
        : $"The refit images have classes the model does not know: {string.Join(", ", unknown)}. "
          + $"The model's classes are: {string.Join(", ", classifier.Model.ClassNames)}.";
}

// Decodes the images one by one: only called after loading them failed, to say which file is at fault.
static string? FirstUnreadableImage(IReadOnlyList<ImageFolderRow> rows)
{
    foreach (var row in rows)
    {
        try
        {
            using var image = MLImage.CreateFromFile(row.ImagePath);
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            return row.ImagePath;
        }
    }
    return null;
}

// One line naming the problem; every argument or plan error (exit code 2) adds where the help is.
static int Fail(int exitCode, string message)
{
    Console.Error.WriteLine(message);
    if (exitCode == 2)
        Console.Error.WriteLine("Run with --help for the options and the plan syntax.");
    return exitCode;
}
