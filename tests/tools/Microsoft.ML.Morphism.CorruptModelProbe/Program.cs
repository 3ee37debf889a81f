// Loads every model file listed in a text file with stock ML.NET, scores a binary IDataView with each,
// and reports one JSON line per model, so a test can fuzz saved models without risking its own process.
//
// usage: Microsoft.ML.Morphism.CorruptModelProbe <models.txt> <input.idv>
//
// For model i it writes {"Index":i,"Outcome":"begin"} before touching the file (so a crash or hang is
// attributed to it), then either {"Index":i,"Outcome":"scored","Scores":"<SHA-256 of the Score column>"}
// or {"Index":i,"Outcome":"error","Exceptions":[{"Type":...,"Message":...}, ...]} (outermost first,
// following InnerException and AggregateException.InnerExceptions).
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
for (int i = 0; i < paths.Length; i++)
{
    output.WriteLine(JsonSerializer.Serialize(new { Index = i, Outcome = "begin" }));
    if (i == failFastAt)
        Environment.FailFast("simulated native crash");
    try
    {
        var model = ml.Model.Load(paths[i], out _);
        var scores = model.Transform(input).GetColumn<float[]>("Score").SelectMany(row => row).ToArray();
        var hash = Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(scores.AsSpan())));
        output.WriteLine(JsonSerializer.Serialize(new { Index = i, Outcome = "scored", Scores = hash }));
    }
    catch (Exception e)
    {
        output.WriteLine(JsonSerializer.Serialize(new { Index = i, Outcome = "error", Exceptions = Chain(e) }));
    }
}
return 0;

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
