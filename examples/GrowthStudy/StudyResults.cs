// What one seed of the study records: every arm's cost, accuracies and curve, as committed under docs/.
namespace Microsoft.ML.Morphism.Examples.GrowthStudy;

/// <summary>A point of an arm's curve: cumulative cost so far and the accuracies of the arm's current model.</summary>
internal sealed record CurvePoint(long Macs, double Seconds, double? ValidationAccuracy, double? TestAccuracy);

/// <summary>One arm of one seed.</summary>
internal sealed record ArmResult(string Arm, string Network, long Parameters, long MacsPerImage, long Macs, double Seconds, int Epochs,
    double ValidationAccuracy, double TestAccuracy, int? Rounds, int? Trials, string? StopReason, List<CurvePoint> Curve, string? LineageTree);

/// <summary>All arms of one seed, with the machine and the command that produced them.</summary>
internal sealed record SeedResults(string Label, int Seed, string Command, string Cpu, int Threads, string Data, long Budget, double BudgetEpochs,
    double LoadBefore, double LoadAfter, DateTime Started, List<ArmResult> Arms);
