// What morphs cost: depth-solver time and density per method, channel count and new kernel; the other morphs' times.
using System.Diagnostics;
using Microsoft.ML.Morphism.Benchmarks.Data;
using Microsoft.ML.Morphism.Benchmarks.Runner;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Networks;
using Microsoft.ML.Morphism.Solvers;

namespace Microsoft.ML.Morphism.Benchmarks.Suites;

/// <summary>
/// Deepen of a 3×3 conv with C → C channels (C = 32, 64, 128, 256) by each method with a 1×1 and a
/// 3×3 new layer, and Widen / EnlargeKernel / AddBranch / AddSkip / InsertBatchNorm at the same sizes.
/// Each row is the median of several runs of the whole <see cref="MorphStep.Apply"/> on float32
/// random weights (solver time as the step reports it, and the step's wall time). The issue targets:
/// dense NetMorph Deepen of 3×3 128 → 128 under 2 s (both new kernels), and 3×3 256 → 256 with a
/// 1×1 new layer solved under 1 s.
/// </summary>
internal sealed class MorphCostSuite : ISuite
{
    private static readonly int[] Channels = [32, 64, 128, 256];

    public string Name => "morph-cost";

    public string Summary => "solver time and density of Deepen (NetMorph dense/practical, IdMorph) at 32–256 channels; other morphs' times";

    public void Run(SuiteReport report)
    {
        int repeats = report.Options.Pick(report.Options.Rounds, quick: 1, full: 3);
        var deepen = new MarkdownTable($"Deepen of a 3×3 conv, C → C channels (median of {repeats})",
            "method", "channels", "new kernel", "width", "solver ms", "morph ms", "density", "residual", "target", "result");
        foreach (var c in Channels)
        {
            foreach (var newKernel in new[] { 1, 3 })
            {
                foreach (var method in new[] { DeepenStep.NetMorphDenseMethod, DeepenStep.NetMorphPracticalMethod, DeepenStep.IdMorphMethod })
                {
                    var row = MeasureDeepen(method, c, newKernel, repeats);
                    deepen.Add(row.Method, row.Channels.ToString(), $"{newKernel}×{newKernel}", row.Width.ToString(), Format.Ms(row.SolverMs),
                        Format.OrDash(row.MorphMs, Format.Ms), Format.Percent(row.Density), Format.Sci(row.Residual), row.Target ?? "", Verdict(row));
                    report.AddRow(row);
                    SuiteReport.Progress($"morph-cost: deepen {method} C={c} {newKernel}x{newKernel}: width {row.Width}, solver {row.SolverMs:F0} ms, morph {Format.OrDash(row.MorphMs, Format.Ms)} ms");
                }
            }
        }
        report.Add(deepen);

        var others = new MarkdownTable($"Other morphs on input(C,16,16) g:conv(C,3) relu h:conv(C,3) relu gap dense(10) (median of {repeats}, ms)",
            ["morph", .. Channels.Select(c => $"C = {c}")]);
        foreach (var (name, step) in OtherMorphs())
        {
            var times = new List<string>();
            foreach (var c in Channels)
            {
                double ms = MeasureOther(step(c), c, repeats);
                times.Add(Format.Ms(ms));
                report.AddRow(new OtherMorphRow(name, step(c).ToString(), c, ms));
            }
            others.Add([name, .. times]);
            SuiteReport.Progress($"morph-cost: {name}: {string.Join(", ", times)} ms");
        }
        report.Add(others);

        report.Note("Weights: random float32 (He-normal, as trained weights are float32); the solver works in float64 either way. Network for the Deepen rows: input(C,16,16) g:conv(C,3) relu gap dense(10), deepening g.");
        report.Note("Width: NetMorph dense takes KernelFactorizer.AutomaticWidth (C for a 1×1 new layer; for a 3×3 one the exact threshold ⌈25C/9⌉ raised 10 % for conditioning, ⌈1.1·⌈25C/9⌉⌉); practical and IdMorph keep C. " +
                    "Practical with a 1×1 new layer is never what Deepen picks (width C already allows the dense solve), so that row times KernelFactorizer.NetMorphPractical directly (no morph ms).");
        report.Note("Solver ms: the factorisation as the step reports it (random filter, least-squares solve, residual and density checks); morph ms: the whole MorphStep.Apply (weights validated, solved, copied into the child).");
    }

    private static DeepenCostRow MeasureDeepen(string method, int c, int newKernel, int repeats)
    {
        var network = NetworkDescription.Parse($"input({c},16,16) g:conv({c},3) relu gap dense(10)");
        var weights = RandomWeights.For(network, seed: c, Precision.Float32);
        var solver = new List<double>();
        var morph = new List<double>();
        SolverReport? last = null;
        for (int r = 0; r < repeats; r++)
        {
            if (method == DeepenStep.NetMorphPracticalMethod && newKernel == 1)
            {
                using var g = weights["g.weight"].ToTorch();
                using var f = KernelFactorizer.NetMorphPractical(g, 1, c, seed: r);
                solver.Add(f.Elapsed.TotalMilliseconds);
                last = new SolverReport(method, f.Width, f.Residual, f.Density, f.Elapsed.TotalMilliseconds);
                continue;
            }
            var step = method switch
            {
                DeepenStep.NetMorphDenseMethod => new DeepenStep("g", newKernel),
                DeepenStep.NetMorphPracticalMethod => new DeepenStep("g", newKernel, Width: c),
                _ => new DeepenStep("g", newKernel, Method: DeepenMethod.IdMorph),
            };
            var clock = Stopwatch.StartNew();
            var outcome = step.Apply(network, weights, new MorphContext(r));
            morph.Add(clock.Elapsed.TotalMilliseconds);
            last = outcome.Solver!;
            solver.Add(last.Milliseconds);
            if (last.Method != method)
                throw new InvalidOperationException($"{step} used {last.Method}, not {method}.");
        }
        string? target = method == DeepenStep.NetMorphDenseMethod && c == 128 ? "morph < 2 s"
            : method == DeepenStep.NetMorphDenseMethod && c == 256 && newKernel == 1 ? "solve < 1 s" : null;
        double solverMs = Statistics.Median(solver);
        double? morphMs = morph.Count > 0 ? Statistics.Median(morph) : null;
        bool? met = target switch
        {
            "morph < 2 s" => morphMs < 2000,
            "solve < 1 s" => solverMs < 1000,
            _ => null,
        };
        return new DeepenCostRow(method, c, newKernel, last!.Width, solverMs, morphMs, last.Density, last.Residual, repeats, target, met);
    }

    private static string Verdict(DeepenCostRow row) => row.TargetMet switch
    {
        true => "PASS",
        false => "FAIL",
        null => "",
    };

    private static (string Name, Func<int, MorphStep> Step)[] OtherMorphs() =>
    [
        ("widen g to 2C", c => new WidenStep("g", 2 * c)),
        ("kernel g 3 → 5", _ => new EnlargeKernelStep("g", 5)),
        ("branch g, 1×1", _ => new AddBranchStep("g", 1)),
        ("branch g, 5×5", _ => new AddBranchStep("g", 5)),
        ("skip input → r", _ => new AddSkipStep("input", "r")),
        ("bn after g (64-image sample)", _ => new InsertBatchNormStep("g")),
    ];

    private static double MeasureOther(MorphStep step, int c, int repeats)
    {
        var network = NetworkDescription.Parse($"input({c},16,16) g:conv({c},3) r:relu h:conv({c},3) relu gap dense(10)");
        var weights = RandomWeights.For(network, seed: c, Precision.Float32);
        var sample = step is InsertBatchNormStep ? RandomWeights.Inputs(network, 64, seed: 7) : null;
        var times = new List<double>();
        for (int r = 0; r < repeats; r++)
        {
            var clock = Stopwatch.StartNew();
            step.Apply(network, weights, new MorphContext(r, sample));
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return Statistics.Median(times);
    }
}

/// <summary>One Deepen cost row.</summary>
internal sealed record DeepenCostRow(string Method, int Channels, int NewKernel, int Width, double SolverMs, double? MorphMs, double Density,
    double Residual, int Repeats, string? Target, bool? TargetMet);

/// <summary>One row of the other morphs' times.</summary>
internal sealed record OtherMorphRow(string Morph, string Step, int Channels, double MorphMs);
