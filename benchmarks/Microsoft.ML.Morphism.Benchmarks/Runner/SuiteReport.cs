// Collects one suite's tables, typed rows and notes; prints them under a header line and writes artifacts/<suite>.json.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Morphism.Benchmarks.Runner;

/// <summary>
/// One suite's results. The header line states the machine, cores, date and the 1-minute load average
/// at the start and the end of the suite, because the machines are shared: a number measured at load 3
/// on 2 cores is not the number measured at load 0.
/// </summary>
internal sealed class SuiteReport
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly List<MarkdownTable> _tables = [];
    private readonly List<object> _rows = [];
    private readonly List<string> _notes = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly DateTime _started = DateTime.UtcNow;
    private readonly double? _loadAtStart = MachineInfo.LoadAverage();

    public SuiteReport(string suite, BenchmarkOptions options, MachineInfo machine)
    {
        Suite = suite;
        Options = options;
        Machine = machine;
        Progress($"{suite}: started ({(options.Quick ? "quick" : "full")} settings, load {Load(_loadAtStart)})");
    }

    public string Suite { get; }

    /// <summary>Suites this process finished before (process-wide figures such as peak RSS include them).</summary>
    public static int FinishedInThisProcess { get; private set; }

    public BenchmarkOptions Options { get; }

    public MachineInfo Machine { get; }

    public void Add(MarkdownTable table) => _tables.Add(table);

    /// <summary>Typed rows for the JSON artifact (one object per measured row, camelCase fields).</summary>
    public void AddRow(object row) => _rows.Add(row);

    /// <summary>A sentence printed under the tables (what a number means, what was skipped and why).</summary>
    public void Note(string note) => _notes.Add(note);

    /// <summary>A progress line on stderr, so stdout holds only the report.</summary>
    public static void Progress(string message) =>
        Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>Prints the report and writes the JSON artifact; returns its path.</summary>
    public string Finish()
    {
        double? loadAtEnd = MachineInfo.LoadAverage();
        var command = Options.CommandFor(Suite);
        Console.WriteLine();
        Console.WriteLine($"## {Suite}");
        Console.WriteLine();
        Console.WriteLine(HeaderLine(loadAtEnd));
        Console.WriteLine();
        Console.WriteLine($"Command: `{command}`");
        foreach (var table in _tables)
        {
            Console.WriteLine();
            Console.WriteLine($"**{table.Title}**");
            Console.WriteLine();
            Console.Write(table);
        }
        if (_notes.Count > 0)
        {
            Console.WriteLine();
            foreach (var note in _notes)
                Console.WriteLine($"- {note}");
        }

        Directory.CreateDirectory(Options.OutputFolder);
        var path = Path.Combine(Options.OutputFolder, $"{Suite}.json");
        var artifact = new
        {
            suite = Suite,
            command,
            quick = Options.Quick,
            machine = Machine,
            startedUtc = _started.ToString("u", CultureInfo.InvariantCulture),
            loadAverage1MinStart = _loadAtStart,
            loadAverage1MinEnd = loadAtEnd,
            elapsedSeconds = Math.Round(_clock.Elapsed.TotalSeconds, 1),
            rows = _rows,
            tables = _tables.Select(t => new { title = t.Title, columns = t.Columns, rows = t.Rows }),
            notes = _notes,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(artifact, JsonOptions));
        Progress($"{Suite}: finished in {_clock.Elapsed.TotalSeconds:F0} s, wrote {path}");
        FinishedInThisProcess++;
        return path;
    }

    private string HeaderLine(double? loadAtEnd) =>
        $"Machine: {Machine.Host} ({Machine.Cpu}), {Machine.Cores} cores, {Machine.Os}; {Machine.Dotnet}, TorchSharp {Machine.TorchSharp} " +
        $"(libtorch {Machine.LibTorch}), {Machine.Threads} intra-op thread(s) (libtorch's own default here: {Machine.LibTorchDefaultThreads}). Date: {_started:yyyy-MM-dd HH:mm} UTC. " +
        $"Load average (1 min): {Load(_loadAtStart)} at start, {Load(loadAtEnd)} at end. " +
        $"Settings: {(Options.Quick ? "quick" : "full")}; wall time {_clock.Elapsed.TotalSeconds:F0} s.";

    private static string Load(double? load) => load is { } l ? l.ToString("F2", CultureInfo.InvariantCulture) : "n/a";
}
