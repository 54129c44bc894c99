using System.Globalization;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.FileSystem;

/// <summary>
/// The embedded default backend: uploads land in place in one staging file per upload
/// (<c>{Root}/.staging/{uploadId}</c>, written at each part's offset) and completion renames that file to
/// <c>{Root}/{ObjectKey}</c>. Tails are never needed (minimum part size 0) but are supported as
/// <c>{Root}/.staging/{uploadId}.tail-{sequence}</c> (<see cref="Tails"/>) so the engine can treat every backend alike.
/// Flat files rather than a folder per upload: mkdir/rmdir per upload cost ~10% of CPU with many small uploads.
/// </summary>
/// <remarks>
/// Stateless and safe for concurrent use: no handle is kept between calls, everything is derived from the record.
/// No fsync: a crashed or killed process (even kill -9) does not lose the page cache, so every write that returned is
/// visible to the next instance; durability across power loss is out of scope for the embedded default, and
/// flushing every part would cost more than the rest of the append path.
/// </remarks>
public sealed partial class FileSystemBackend : IAppendBackend, IObjectConcatenation
{
    /// <summary>Reserved top-level folder for staging data; object keys may not start with it.</summary>
    public const string StagingFolderName = ".staging";

    private static readonly BackendCapabilities FileCapabilities = new(
        MinPartSize: 0,
        PartAlignment: 1,
        MaxParts: int.MaxValue,
        MaxPartSize: long.MaxValue,
        DefaultPartSize: 1024 * 1024);

    private readonly string root;
    private readonly string stagingRoot;

    public FileSystemBackend(FileSystemBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Root, nameof(options.Root));
        root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.Root));
        stagingRoot = Path.Combine(root, StagingFolderName);
        Tails = new StagingTails(this);
    }

    /// <summary>Absolute root directory of this backend.</summary>
    public string Root => root;

    public BackendCapabilities Capabilities => FileCapabilities;

    /// <summary>Tails as files next to the staging data; <see cref="IUploadBackend.AbortAsync"/> and completion remove them.</summary>
    public ITailStore Tails { get; }

    public IObjectConcatenation? Concatenation => this;

    /// <summary>Named in completion events (<see cref="IUploadBackend.ContainerName"/>).</summary>
    public string? ContainerName => root;

    /// <summary>Null: bytes past the recorded offset are overwritten by the next write or cut off at completion.</summary>
    public ISessionReconciliation? Reconciliation => null;

    private Task<string?> StartCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        return Run<string?>(
            () =>
            {
                // The data file marks the upload as live: writes never recreate it, so a straggler write after
                // completion or abort fails instead of leaving orphaned staging data behind.
                var path = StagingDataPath(upload.Id);
                Directory.CreateDirectory(stagingRoot);
                File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
                return null;
            },
            cancellationToken);
    }

    private async Task WriteCoreAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        cancellationToken.ThrowIfCancellationRequested();

        var path = StagingDataPath(upload.Id);
        // Open without truncation: earlier parts stay, and bytes of an unrecorded earlier attempt at this offset are
        // simply overwritten (anything left past the durable offset is cut off at completion).
        using (var handle = OpenStagingHandle(upload.Id, path, FileMode.Open))
        {
            // Writes straight from the caller's (pooled) buffer: no copy.
            await RandomAccess.WriteAsync(handle, content, offset, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task WriteTailCoreAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        cancellationToken.ThrowIfCancellationRequested();

        if (!File.Exists(StagingDataPath(uploadId)))
        {
            throw NotLive(uploadId, null);
        }

        // FileMode.Create truncates: a retry under the same (not yet recorded) sequence replaces the earlier bytes.
        using var handle = OpenStagingHandle(uploadId, TailPath(uploadId, sequence), FileMode.Create);
        await RandomAccess.WriteAsync(handle, content, 0, cancellationToken).ConfigureAwait(false);
    }

    private async Task ReadTailCoreAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        ArgumentNullException.ThrowIfNull(tail);
        if (destination.Length < tail.Size)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; the tail has {tail.Size}.", nameof(destination));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var path = TailPath(uploadId, tail.Sequence);
        using var handle = OpenForRead(path, FileOptions.Asynchronous);
        await ReadExactlyAsync(handle, destination[..(int)tail.Size], 0, path, cancellationToken).ConfigureAwait(false);
    }

    private Task DeleteTailCoreAsync(string uploadId, int sequence, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uploadId);
        var path = TailPath(uploadId, sequence);
        return Run(() => DeleteFileIfExists(path), cancellationToken);
    }

    private async Task<StoredObject> CompleteCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        cancellationToken.ThrowIfCancellationRequested();

        var finalPath = ObjectPath(upload.ObjectKey);
        var dataPath = StagingDataPath(upload.Id);

        if (upload.Offset == 0 && !File.Exists(dataPath) && !IsCompleted(finalPath, 0))
        {
            // Nothing was ever written: an empty staging file makes the zero-length object go through the same
            // atomic rename as every other object (an existing object under the key is replaced, never truncated).
            Directory.CreateDirectory(stagingRoot);
            File.OpenHandle(dataPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete).Dispose();
        }

        var moved = false;
        if (File.Exists(dataPath))
        {
            await PrepareDataFileAsync(upload, dataPath, TailPath, cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);
            try
            {
                // rename(2): atomic, replaces an existing object; staging and objects share one file system under Root.
                File.Move(dataPath, finalPath, overwrite: true);
                moved = true;
            }
            catch (FileNotFoundException)
            {
                // A concurrent CompleteAsync for the same upload moved it first; verified below like a retry.
            }
        }

        // Retry after a crash between the rename and the metadata write: the staging data is gone, the object is there.
        if (!moved && !IsCompleted(finalPath, upload.Offset))
        {
            throw new InvalidOperationException(
                $"Upload '{upload.Id}' cannot be completed: its staging data is missing and no object of {upload.Offset} bytes exists at '{upload.ObjectKey}'.");
        }

        DeleteTails(upload);
        var info = new FileInfo(finalPath);
        return new StoredObject(upload.ObjectKey, info.Length, ETagOf(info), ContentType: upload.ContentType);
    }

    private Task AbortCoreAsync(BackendUpload upload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        var dataPath = StagingDataPath(upload.Id);
        return Run(
            () =>
            {
                DeleteFileIfExists(dataPath);
                // Every tail, also one written but never recorded before a crash.
                if (Directory.Exists(stagingRoot))
                {
                    foreach (var tail in Directory.EnumerateFiles(stagingRoot, upload.Id + TailInfix + "*"))
                    {
                        DeleteFileIfExists(tail);
                    }
                }
            },
            cancellationToken);
    }

    private Task<Stream> OpenReadCoreAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is { } requested)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(requested, nameof(length));
        }

        var path = ObjectPath(objectKey);
        return Run(() => OpenRange(objectKey, path, offset, length), cancellationToken);
    }

    private async Task<StoredObject> ConcatenateCoreAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upload);
        ArgumentNullException.ThrowIfNull(sourceKeys);
        var finalPath = ObjectPath(upload.ObjectKey);
        var sources = sourceKeys.Select(ObjectPath).ToList();
        var dataPath = StagingDataPath(upload.Id);
        Directory.CreateDirectory(stagingRoot);
        // Built in staging and renamed like any completion, so readers never see a half-written object.
        var target = new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous);
        await using (target.ConfigureAwait(false))
        {
            foreach (var source in sources)
            {
                var input = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
                await using (input.ConfigureAwait(false))
                {
                    // Streamed through one buffer: memory stays constant whatever the object sizes.
                    await input.CopyToAsync(target, ConcatenationBufferSize, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        Directory.CreateDirectory(Path.GetDirectoryName(finalPath)!);
        File.Move(dataPath, finalPath, overwrite: true);
        var info = new FileInfo(finalPath);
        return new StoredObject(upload.ObjectKey, info.Length, ETagOf(info), ContentType: upload.ContentType);
    }

    private const int ConcatenationBufferSize = 1024 * 1024;

    private Task DeleteObjectCoreAsync(string objectKey, CancellationToken cancellationToken)
    {
        var path = ObjectPath(objectKey);
        // Empty parent folders are left in place: removing them could race with a completion creating a sibling.
        return Run(() => DeleteFileIfExists(path), cancellationToken);
    }

    /// <summary>Maps an object key to its path under <see cref="Root"/>; rejects keys that could escape it or hit staging.</summary>
    internal string ObjectPath(string objectKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(objectKey);
        if (objectKey.AsSpan().IndexOfAny('\\', '\0') >= 0 || Path.IsPathRooted(objectKey) || (OperatingSystem.IsWindows() && objectKey.Contains(':', StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Object key '{objectKey}' must be a relative path with '/' separators.", nameof(objectKey));
        }

        var first = true;
        foreach (var range in objectKey.AsSpan().Split('/'))
        {
            var segment = objectKey.AsSpan(range);
            if (segment.IsEmpty || segment is "." or "..")
            {
                throw new ArgumentException($"Object key '{objectKey}' has an empty, '.' or '..' segment.", nameof(objectKey));
            }

            if (first && segment.Equals(StagingFolderName, StringComparison.OrdinalIgnoreCase))
            {
                throw new ArgumentException($"Object key '{objectKey}' uses the reserved folder '{StagingFolderName}'.", nameof(objectKey));
            }

            first = false;
        }

        // Belt and braces: whatever the platform's path rules, the result must stay strictly inside Root.
        var full = Path.GetFullPath(Path.Combine(root, objectKey));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Object key '{objectKey}' resolves outside the backend root.", nameof(objectKey));
        }

        return full;
    }

    private const string TailInfix = ".tail-";

    private string StagingDataPath(string id)
    {
        if (string.IsNullOrEmpty(id) || id is "." or ".." || id.AsSpan().IndexOfAny("/\\\0:*?") >= 0)
        {
            throw new ArgumentException($"Upload id '{id}' cannot be used as a file name.", nameof(id));
        }

        return Path.Combine(stagingRoot, id);
    }

    private string TailPath(string uploadId, int sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        return StagingDataPath(uploadId) + TailInfix + sequence.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Tails up to one past the last recorded sequence (one may have been written but not recorded).</summary>
    private void DeleteTails(BackendUpload upload)
    {
        for (var sequence = 1; sequence <= upload.TailSequence + 1; sequence++)
        {
            DeleteFileIfExists(TailPath(upload.Id, sequence));
        }
    }

    private static InvalidOperationException NotLive(string uploadId, Exception? inner) => new(
        $"Upload '{uploadId}' has no staging data: it was never started, or it was already completed or aborted.", inner);

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenStagingHandle(string uploadId, string path, FileMode mode)
    {
        try
        {
            // Shared access: a takeover may write while an older request is still finishing; the record decides what counts.
            return File.OpenHandle(path, mode, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or FileNotFoundException)
        {
            throw NotLive(uploadId, ex);
        }
    }

    private static Microsoft.Win32.SafeHandles.SafeFileHandle OpenForRead(string path, FileOptions options)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, options);
        }
        catch (DirectoryNotFoundException ex)
        {
            // Callers only need "missing"; which path component is missing does not matter.
            throw new FileNotFoundException($"'{path}' does not exist.", path, ex);
        }
    }

    /// <summary>Makes the staging data file hold exactly the upload's durable bytes.</summary>
    private static async Task PrepareDataFileAsync(
        BackendUpload upload, string dataPath, Func<string, int, string> tailPathOf, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(dataPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, FileOptions.Asynchronous);
        if (upload.Tail is { Size: > 0 } tail)
        {
            // The coordinator flushes tails as a final part before completing; should a record still carry one, the
            // object is parts plus tail, so place the tail behind the parts rather than lose it.
            var position = upload.PartsLength;
            foreach (var piece in tail.Objects)
            {
                var tailPath = tailPathOf(upload.Id, piece.Sequence);
                var buffer = new byte[piece.Size];
                using (var tailHandle = OpenForRead(tailPath, FileOptions.Asynchronous))
                {
                    await ReadExactlyAsync(tailHandle, buffer, 0, tailPath, cancellationToken).ConfigureAwait(false);
                }

                await RandomAccess.WriteAsync(handle, buffer, position, cancellationToken).ConfigureAwait(false);
                position += piece.Size;
            }
        }

        var length = RandomAccess.GetLength(handle);
        if (length < upload.Offset)
        {
            throw new InvalidOperationException(
                $"Upload '{upload.Id}' staging data has {length} bytes but the record says {upload.Offset} are durable.");
        }

        // A writer that crashed or was taken over may have left unrecorded bytes past the durable offset.
        if (length > upload.Offset)
        {
            RandomAccess.SetLength(handle, upload.Offset);
        }
    }

    private static async Task ReadExactlyAsync(
        Microsoft.Win32.SafeHandles.SafeFileHandle handle, Memory<byte> destination, long offset, string path, CancellationToken cancellationToken)
    {
        var done = 0;
        while (done < destination.Length)
        {
            var read = await RandomAccess.ReadAsync(handle, destination[done..], offset + done, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException($"'{path}' ended after {done} of {destination.Length} expected bytes.");
            }

            done += read;
        }
    }

    private static Stream OpenRange(string objectKey, string path, long offset, long? length)
    {
        if (Directory.Exists(path))
        {
            throw new FileNotFoundException($"Object '{objectKey}' does not exist.", path);
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.Open,
                Access = FileAccess.Read,
                Share = FileShare.ReadWrite | FileShare.Delete,
                Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
            });
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new FileNotFoundException($"Object '{objectKey}' does not exist.", path, ex);
        }

        try
        {
            var size = stream.Length;
            if (offset > size)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, $"Object '{objectKey}' has only {size} bytes.");
            }

            stream.Position = offset;
            // To the end: hand out the seekable FileStream itself; otherwise stop after the requested range.
            return length is { } n && n < size - offset ? new RangeReadStream(stream, n) : stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static bool IsCompleted(string finalPath, long expectedLength)
    {
        var info = new FileInfo(finalPath);
        return info.Exists && info.Length == expectedLength;
    }

    /// <summary>Stable across completion retries and reads: a rename keeps the modification time.</summary>
    private static string ETagOf(FileInfo info) =>
        info.Length.ToString("x", CultureInfo.InvariantCulture) + "-" + info.LastWriteTimeUtc.Ticks.ToString("x", CultureInfo.InvariantCulture);

    private static void DeleteFileIfExists(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Runs short synchronous metadata operations so that failures surface as a faulted task, like real I/O.</summary>
    private static Task Run(Action work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        try
        {
            work();
            return Task.CompletedTask;
        }
        catch (Exception ex)
        {
            return Task.FromException(ex);
        }
    }

    private static Task<T> Run<T>(Func<T> work, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        try
        {
            return Task.FromResult(work());
        }
        catch (Exception ex)
        {
            return Task.FromException<T>(ex);
        }
    }
}
