// Writes a file through a temp file in the same folder and a rename, so a failed write never destroys the previous file.
namespace Microsoft.ML.Morphism.Persistence;

internal static class AtomicFile
{
    /// <summary>Test hook: wraps the temp-file stream (e.g. to fail midway). Null in production.</summary>
    internal static Func<Stream, Stream>? StreamWrapperForTests { get; set; }

    /// <summary>Test hook: replaces deleting the temp file (e.g. to fail as in a folder that turned read-only). Null in production.</summary>
    internal static Action<string>? DeleteForTests { get; set; }

    /// <summary>
    /// Writes <paramref name="path"/> by calling <paramref name="write"/> on a temp file next to it,
    /// flushing it to disk, then renaming it over the target, then touching its last-write time (so that
    /// file watchers listening for <c>Changed</c>, like ML.NET's hot-reloading model loader, see the new
    /// model). On any failure the temp file is deleted and the previous file, if any, is untouched. When the temp file
    /// cannot be deleted either (a non-root process cannot delete from a folder that turned read-only midway), the
    /// failure is an <see cref="IOException"/> that says where the temp file is, with the write's exception inside.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                var stream = StreamWrapperForTests?.Invoke(file) ?? file;
                write(stream);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception e)
        {
            if (TryDelete(temp) is { } left && e is not OperationCanceledException)
                throw new IOException($"Writing '{full}' failed ({e.Message}); the previous file is untouched, but the temp file '{temp}' " +
                    $"could not be deleted ({left.Message}) and is left behind.", e);
            throw;
        }
        // A rename raises only Renamed; Microsoft.Extensions.ML's FileModelLoader (hot reload) listens to Changed only,
        // which touching the file's last-write time raises. The model is in place by now: a failure here is not fatal.
        try
        {
            File.SetLastWriteTimeUtc(full, DateTime.UtcNow);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    // Null when the file is gone (or never existed); else why it could not be deleted.
    private static Exception? TryDelete(string path)
    {
        try
        {
            (DeleteForTests ?? File.Delete)(path);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return File.Exists(path) ? e : null;
        }
    }
}
