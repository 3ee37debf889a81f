// The collection for tests that change or measure process-wide state; xunit runs it alone, after the parallel tests.
namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// Tests that touch what the whole process shares: TorchSharp's intra-op thread count and global
/// generator (determinism), native tensor counts and RSS (leaks), the AtomicFile test hook (failing
/// writes). With parallelisation disabled nothing else runs in the process meanwhile.
/// </summary>
[CollectionDefinition(nameof(ProcessWideStateCollection), DisableParallelization = true)]
public sealed class ProcessWideStateCollection;
