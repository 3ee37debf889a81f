// The growth study (issue 14): A, A at B/2, random search, growth search and C's architecture from scratch, all at one MAC budget.
// Exit codes: 0 done, 1 bad files, 2 bad arguments, 5 a bug.
using System.Text.Json;
using Microsoft.ML.Morphism.Examples.GrowthStudy;

if (StudySettings.Parse(args, out var exitCode) is not { } settings)
    return exitCode;
try
{
    if (settings.Report is { } folder)
    {
        StudyReport.Write(folder, Console.Out);
        return 0;
    }
    if (settings.Threads is { } threads)
        TorchSharp.torch.set_num_threads(threads);
    var data = StudyData.Load(settings);
    Console.WriteLine(data.Description);
    Directory.CreateDirectory(settings.Out);
    foreach (var seed in settings.Seeds)
        RunSeed(settings, data, seed, args);
    return 0;
}
catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or InvalidDataException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
catch (Exception e)
{
    Console.Error.WriteLine($"Unexpected failure (a bug): {e}");
    return 5;
}

static void RunSeed(StudySettings settings, StudyData data, int seed, string[] args)
{
    var arms = new StudyArms(settings, data, seed, Console.Out);
    var results = new SeedResults(settings.Label, seed, "dotnet run -c Release --project examples/GrowthStudy -- " + string.Join(" ", args),
        Cpu(), TorchSharp.torch.get_num_threads(), data.Description, arms.Budget, settings.BudgetEpochs, Load(), 0, DateTime.UtcNow, []);
    var path = Path.Combine(settings.Out, $"seed-{seed}-{settings.Label}.json");
    Console.WriteLine($"[seed {seed}] budget B = {arms.Budget:0.00e+00} MACs ({settings.BudgetEpochs} epochs of the default CNN, {arms.EpochCost(StudyArms.DefaultNetwork):0.00e+00} MACs each)");
    Microsoft.ML.Morphism.Networks.NetworkDescription? searched = null, grown = null;
    foreach (var arm in settings.Arms)
    {
        ArmResult result;
        try
        {
            result = RunArm(arm);
        }
        catch (Microsoft.ML.Morphism.Training.TrainingDivergedException e)
        {
            // A diverged arm is a result, not a crash: recorded with its reason, and the other arms go on.
            Console.WriteLine($"[seed {seed}] {arm}: DIVERGED: {e.Message}");
            result = new ArmResult(arm, "", 0, 0, 0, 0, e.Epoch, double.NaN, double.NaN, null, null, $"diverged: {e.Message}", [], null);
        }
        results.Arms.Add(result);
        Save(path, results with { LoadAfter = Load() });
    }
    Console.WriteLine($"[seed {seed}] wrote {path}");

    ArmResult RunArm(string arm) => arm switch
        {
            "A" => arms.FromScratch("A", StudyArms.DefaultNetwork, arms.Budget),
            "A-half" => arms.FromScratch("A-half", StudyArms.DefaultNetwork, arms.Budget / 2),
            "B" => arms.Search("B", inherit: false).Result,
            "C" => Remember(arms.Search("C", inherit: true), out searched),
            "D" => arms.FromScratch("D", searched!, arms.Budget),
            "E-grown" => Remember(arms.GrownInOneSchedule(), out grown),
            "E-scratch" => arms.FromScratch("E-scratch", grown ?? arms.ScheduledNetwork(), arms.Budget),
            _ => throw new InvalidOperationException($"unknown arm {arm}"),
        };
}

static ArmResult Remember((ArmResult Result, Microsoft.ML.Morphism.Networks.NetworkDescription Final) search, out Microsoft.ML.Morphism.Networks.NetworkDescription final)
{
    final = search.Final;
    return search.Result;
}

// Written after every arm through a temp file, so a killed run keeps the arms it finished.
static void Save(string path, SeedResults results)
{
    var temp = path + ".tmp";
    File.WriteAllText(temp, JsonSerializer.Serialize(results, StudyReport.Json));
    File.Move(temp, path, overwrite: true);
}

static double Load() => File.Exists("/proc/loadavg") ? double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) : double.NaN;

static string Cpu() => File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown"
    : "unknown";
