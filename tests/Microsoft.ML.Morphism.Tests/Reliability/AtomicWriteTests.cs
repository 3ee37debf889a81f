// SaveModel and UpgradeModel write through a temp file and a rename: a write failing midway leaves the previous file as it was.
using Microsoft.ML.Morphism.Persistence;
using Microsoft.ML.Morphism.Pipelines;
using Microsoft.ML.Morphism.Morphs;
using Microsoft.ML.Morphism.Tests.Infrastructure;

namespace Microsoft.ML.Morphism.Tests.Reliability;

/// <summary>
/// A disk that fails halfway through a model (simulated through AtomicFile's test hook) must leave
/// the file that was at the path before byte-identical and loadable, and leave no temp file behind.
/// </summary>
[Collection(nameof(ProcessWideStateCollection))]
public class AtomicWriteTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly MLContext _ml = new(seed: 1);
    private readonly IDataView _data;
    private readonly ITransformer _model;

    public AtomicWriteTests()
    {
        _data = _ml.Data.LoadFromEnumerable(SyntheticImages.Vectors(perClass: 4, seed: 1));
        _model = SmallModels.Train(_ml, _data);
    }

    public void Dispose()
    {
        AtomicFile.StreamWrapperForTests = null;
        AtomicFile.DeleteForTests = null;
        _dir.Dispose();
    }

    [Fact]
    public void SaveModelFailingMidwayLeavesThePreviousFileIntact()
    {
        var path = _dir.File("model.zip");
        var previous = SmallModels.Save(_ml, _model, _data.Schema, path);
        var other = _model.Morph(_ml, m => m.Widen("conv1", 8), new RefitOptions { MaxEpoch = 0 }).Fit(_data);
        FailWritesAfter(previous.Length / 2);

        var e = Assert.ThrowsAny<Exception>(() => _ml.Morphism().SaveModel(other, _data.Schema, path));

        Assert.Contains(FailingStream.Message, SavedModelFile.MessageChain(e));
        AssertPreviousModelIsIntact(path, previous);
        Assert.Equal(["model.zip"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReplacingAModelRaisesChangedForAHotReloadWatcher(bool upgrade)
    {
        var path = _dir.File("model.zip");
        SmallModels.Save(_ml, _model, _data.Schema, path);
        var parent = _dir.File("parent.zip");
        File.Copy(path, parent);
        // As Microsoft.Extensions.ML's FileModelLoader watches: the folder and the file name, default NotifyFilter, Changed only.
        using var watcher = new FileSystemWatcher(_dir.Path, "model.zip");
        using var changed = new ManualResetEventSlim();
        watcher.Changed += (_, _) => changed.Set();
        watcher.EnableRaisingEvents = true;

        if (upgrade)
            _ml.Morphism().UpgradeModel(parent, path, MorphPlan.Parse("widen(conv1, 8)"));
        else
            _ml.Morphism().SaveModel(_model, _data.Schema, path);

        Assert.True(changed.Wait(TimeSpan.FromSeconds(10)), "no Changed event for the replaced model file");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ATempFileThatCannotBeDeletedIsNamedInTheFailure(bool upgrade)
    {
        // Issue 16: a folder turning read-only mid-save left the temp file behind, unmentioned (a non-root process cannot
        // delete from a read-only folder; CI runs as root, so the delete failure is injected).
        var path = _dir.File("model.zip");
        var input = _dir.File("input.zip");
        SmallModels.Save(_ml, _model, _data.Schema, input);
        var previous = SmallModels.Save(_ml, _model, _data.Schema, path);
        FailWritesAfter(previous.Length / 2);
        AtomicFile.DeleteForTests = _ => throw new UnauthorizedAccessException("Access to the path is denied.");

        var e = Assert.ThrowsAny<Exception>(() =>
        {
            if (upgrade)
                _ml.Morphism().UpgradeModel(input, path, new MorphPlan().Widen("conv1", 8));
            else
                _ml.Morphism().SaveModel(_model, _data.Schema, path);
        });

        var chain = SavedModelFile.MessageChain(e);
        var temp = Assert.Single(Directory.GetFiles(_dir.Path, ".model.zip.*.tmp"));
        Assert.Contains($"Writing '{path}' failed ({FailingStream.Message}", chain);
        Assert.Contains($"the previous file is untouched, but the temp file '{temp}' could not be deleted (Access to the path is denied.) and is left behind.", chain);
        AssertPreviousModelIsIntact(path, previous);
    }

    [Fact]
    public void SaveModelFailingMidwayToANewPathLeavesNoFile()
    {
        FailWritesAfter(1000);

        Assert.ThrowsAny<Exception>(() => _ml.Morphism().SaveModel(_model, _data.Schema, _dir.File("model.zip")));

        Assert.Empty(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void UpgradeModelFailingWhileWritingLeavesThePreviousOutputIntact()
    {
        var input = _dir.File("input.zip");
        var output = _dir.File("output.zip");
        var inputBytes = SmallModels.Save(_ml, _model, _data.Schema, input);
        var previous = SmallModels.Save(_ml, _model, _data.Schema, output);
        FailWritesAfter(previous.Length / 2);

        var e = Assert.ThrowsAny<Exception>(() => _ml.Morphism().UpgradeModel(input, output, new MorphPlan().Widen("conv1", 8).Deepen("conv1")));

        Assert.Contains(FailingStream.Message, SavedModelFile.MessageChain(e));
        AssertPreviousModelIsIntact(output, previous);
        Assert.Equal(inputBytes, File.ReadAllBytes(input));
        Assert.Equal(["input.zip", "output.zip"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName).Order());
    }

    private static void FailWritesAfter(long bytes) => AtomicFile.StreamWrapperForTests = stream => new FailingStream(stream, bytes);

    private void AssertPreviousModelIsIntact(string path, byte[] previous)
    {
        AtomicFile.StreamWrapperForTests = null;
        Assert.Equal(previous, File.ReadAllBytes(path));
        var loaded = _ml.Model.Load(path, out _);
        Assert.Equal(SmallModels.Scores(_model, _data), SmallModels.Scores(loaded, _data));
    }

    /// <summary>Passes everything through to a file stream until a number of bytes is written, then fails like a full disk.</summary>
    private sealed class FailingStream(Stream inner, long failAfter) : Stream
    {
        public const string Message = "simulated disk failure";
        private long _written;

        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count)
        {
            long allowed = Math.Max(0, Math.Min(count, failAfter - _written));
            inner.Write(buffer, offset, (int)allowed);
            _written += allowed;
            if (allowed < count)
                throw new IOException(Message);
        }
    }
}
