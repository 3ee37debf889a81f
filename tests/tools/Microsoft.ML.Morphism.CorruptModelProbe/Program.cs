// Loads every model file listed in a text file with stock ML.NET, scores a binary IDataView with each,
// and reports one JSON line per model, so a test can fuzz saved models without risking its own process.
//
// usage: Microsoft.ML.Morphism.CorruptModelProbe <models.txt> <input.idv>
//
// For model i it writes {"Index":i,"Outcome":"begin"} before touching the file (so a crash or hang is
// attributed to it), then either {"Index":i,"Outcome":"scored","Scores":"<SHA-256 of the Score column>"}
// or {"Index":i,"Outcome":"error","Exceptions":[{"Type":...,"Message":...}, ...]} (outermost first,
// following InnerException and AggregateException.InnerExceptions); both with "Seconds" (load and score)
// and "PeakRssAboveBaselineMB": the highest resident set size seen while on that model (sampled every
// 2 ms from /proc/self/statm), less the baseline, the resident size after model 0 was scored (libtorch's
// start alone adds ~120 MB); 0 for model 0 itself.
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: Microsoft.ML.Morphism.CorruptModelProbe <models.txt> <input.idv>");
    return 2;
}

// Lets a test check that a crash is attributed to the right model: FailFast ends the process the way a native crash would.
int? failFastAt = int.TryParse(Environment.GetEnvironmentVariable("MORPHISM_PROBE_FAIL_FAST_AT"), out var at) ? at : null;
var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = true };
var paths = File.ReadAllLines(args[0]).Where(line => line.Length > 0).ToArray();
// ML.NET extracts model entries to temp folders; keep them next to the models, which the test deletes.
var ml = new MLContext(seed: 1) { TempFilePath = Path.GetDirectoryName(Path.GetFullPath(args[0]))! };
var input = ml.Data.LoadFromBinary(args[1]);
long peak = 0, baseline = 0;
using var stopSampling = new CancellationTokenSource();
var sampler = new Thread(() =>
{
    while (!stopSampling.IsCancellationRequested)
    {
        long rss = ResidentBytes();
        long seen;
        do
            seen = Interlocked.Read(ref peak);
        while (rss > seen && Interlocked.CompareExchange(ref peak, rss, seen) != seen);
        Thread.Sleep(2);
    }
}) { IsBackground = true };
sampler.Start();
for (int i = 0; i < paths.Length; i++)
{
    output.WriteLine(JsonSerializer.Serialize(new { Index = i, Outcome = "begin" }));
    if (i == failFastAt)
        Environment.FailFast("simulated native crash");
    Interlocked.Exchange(ref peak, ResidentBytes());
    var clock = Stopwatch.StartNew();
    object report;
    try
    {
        var model = ml.Model.Load(paths[i], out _);
        var scores = model.Transform(input).GetColumn<float[]>("Score").SelectMany(row => row).ToArray();
        var hash = Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(scores.AsSpan())));
        report = new { Index = i, Outcome = "scored", Scores = hash, Seconds = clock.Elapsed.TotalSeconds, PeakRssAboveBaselineMB = AboveBaseline() };
    }
    catch (Exception e)
    {
        report = new { Index = i, Outcome = "error", Exceptions = Chain(e), Seconds = clock.Elapsed.TotalSeconds, PeakRssAboveBaselineMB = AboveBaseline() };
    }
    output.WriteLine(JsonSerializer.Serialize(report));
    if (i == 0)
        baseline = ResidentBytes();
}
stopSampling.Cancel();
return 0;

double AboveBaseline() => baseline == 0 ? 0 : Math.Max(0, Math.Max(Interlocked.Read(ref peak), ResidentBytes()) - baseline) / (1024.0 * 1024.0);

// Resident pages × page size, from /proc/self/statm (Linux); the managed working set elsewhere.
static long ResidentBytes()
{
    try
    {
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }
    catch (IOException)
    {
        return Environment.WorkingSet;
    }
}

static List<object> Chain(Exception e)
{
    var chain = new List<object>();
    var pending = new Queue<Exception>([e]);
    while (pending.TryDequeue(out var current) && chain.Count < 20)
    {
        chain.Add(new { Type = current.GetType().FullName, current.Message });
        if (current is AggregateException aggregate)
            foreach (var inner in aggregate.InnerExceptions)
                pending.Enqueue(inner);
        else if (current.InnerException is { } inner)
            pending.Enqueue(inner);
    }
    return chain;
}
