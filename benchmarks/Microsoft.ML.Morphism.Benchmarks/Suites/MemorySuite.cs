// Memory over a 10-epoch run: peak RSS, resident and managed memory, and TorchSharp's live tensor count after every epoch.
using System.Globalization;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Benchmarks.Training;
using Microsoft.ML.Morphism.Samples;
using TorchSharp;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// Ten epochs of the ML.NET trainer, with and without the feature cache. After every epoch (in the
/// trainer's MetricsCallback, on the training thread): TorchSharp's live tensor count for this thread
/// (<c>DisposeScopeManager.Statistics.ThreadTotalLiveCount</c>, as the NativeMemoryTests count it: tensors
/// created minus disposed), the resident set (VmRSS), the peak resident set so far (VmHWM) and the
/// managed heap. The count must be the same after every epoch: a leak of even one tensor per batch
/// would add hundreds per epoch.
/// </summary>
internal sealed class MemorySuite : ISuite
{
    private const int Epochs = 10;

    public string Name => "memory";

    public string Summary => "peak RSS and TorchSharp's live tensor count over a 10-epoch run (cache on and off)";

    public void Run(SuiteReport report)
    {
        var options = report.Options;
        int images = options.Pick(options.Images, quick: 640, full: 10000);
        var ml = new MLContext(seed: 1);
        var train = FashionMnistData.ToDataView(ml, FashionMnistData.Load(FashionMnistSplit.Train, images));
        long? baseline = MachineInfo.ResidentBytes();
        if (SuiteReport.FinishedInThisProcess > 0)
            report.Note($"{SuiteReport.FinishedInThisProcess} other suite(s) ran earlier in this process, so peak RSS includes them: run `-- memory` alone for this suite's own peak.");

        var table = new MarkdownTable($"After each epoch ({images} images, default network, batch 64)",
            "cache", "epoch", "live tensors", "RSS MB", "peak RSS MB", "managed heap MB");
        var summary = new MarkdownTable("Across the run", "cache", "live tensors, epochs 1–10", "flat", "RSS growth epoch 2 → 10 MB", "peak RSS MB");
        foreach (var cache in new[] { true, false })
        {
            var rows = new List<MemoryRow>();
            ClassifierTraining.Fit(ml, train, BenchmarkNetworks.Default, 64, Epochs, options.Threads, cache, onEpoch: metrics =>
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                rows.Add(new MemoryRow(cache, metrics.Epoch, DisposeScopeManager.Statistics.ThreadTotalLiveCount,
                    MachineInfo.ResidentBytes() ?? 0, MachineInfo.PeakResidentBytes() ?? 0, GC.GetTotalMemory(forceFullCollection: false)));
            });
            foreach (var row in rows)
            {
                table.Add(cache ? "on" : "off", row.Epoch.ToString(CultureInfo.InvariantCulture), Format.Integer(row.LiveTensors),
                    Format.MegaBytes(row.ResidentBytes), Format.MegaBytes(row.PeakResidentBytes), Format.MegaBytes(row.ManagedBytes));
                report.AddRow(row);
            }
            bool flat = rows.All(r => r.LiveTensors == rows[0].LiveTensors);
            summary.Add(cache ? "on" : "off", string.Join(", ", rows.Select(r => r.LiveTensors).Distinct()), flat ? "PASS" : "FAIL",
                Format.MegaBytes(rows[^1].ResidentBytes - rows[1].ResidentBytes), Format.MegaBytes(rows.Max(r => r.PeakResidentBytes)));
            SuiteReport.Progress($"memory: cache {(cache ? "on" : "off")}: live tensors {string.Join(", ", rows.Select(r => r.LiveTensors))}");
        }
        report.Add(table);
        report.Add(summary);
        report.Note($"Process RSS before training (runtime, ML.NET, libtorch, and the {images} images held twice: as a float array and as the IDataView's rows): {Format.OrDash(baseline, b => Format.MegaBytes((long)b))} MB. " +
                    "Peak RSS is the process's high-water mark since it started, so the cache-off run inherits the cache-on run's peak.");
        report.Note("Live tensors: tensors created minus disposed on the training thread; the steady count is the module's parameters and buffers, the optimizer's momentum buffers and the reused batch tensors.");
    }
}

internal sealed record MemoryRow(bool Cache, int Epoch, long LiveTensors, long ResidentBytes, long PeakResidentBytes, long ManagedBytes);
