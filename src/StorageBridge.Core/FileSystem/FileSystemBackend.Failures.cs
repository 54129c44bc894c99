using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.FileSystem;

/// <summary>
/// Every public call goes through <see cref="Classify{T}"/>: I/O errors (a full disk, a file another process holds)
/// become transient <see cref="StorageBackendException"/>s, a refused permission a permanent one. Missing files keep
/// their <see cref="FileNotFoundException"/>, which the engine relies on; a truncated file stays an
/// <see cref="EndOfStreamException"/> (lost bytes are not an outage).
/// </summary>
public sealed partial class FileSystemBackend
{
    private const string BackendName = "file system target";

    public Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(() => StartCoreAsync(upload, cancellationToken));

    public Task WriteAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(() => WriteCoreAsync(upload, offset, content, cancellationToken));

    public Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(() => CompleteCoreAsync(upload, cancellationToken));

    public Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken) =>
        Classify(() => AbortCoreAsync(upload, cancellationToken));

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        Classify(() => OpenReadCoreAsync(objectKey, offset, length, cancellationToken));

    public Task<StoredObject> ConcatenateAsync(BackendUpload upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken) =>
        Classify(() => ConcatenateCoreAsync(upload, sourceKeys, cancellationToken));

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) =>
        Classify(() => DeleteObjectCoreAsync(objectKey, cancellationToken));

    /// <summary>The backend's tails, classified like every other call.</summary>
    private sealed class StagingTails(FileSystemBackend backend) : ITailStore
    {
        public Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
            Classify(() => backend.WriteTailCoreAsync(uploadId, sequence, content, cancellationToken));

        public Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
            Classify(() => backend.ReadTailCoreAsync(uploadId, tail, destination, cancellationToken));

        public Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken) =>
            Classify(() => backend.DeleteTailCoreAsync(uploadId, sequence, cancellationToken));

        // Abort and completion remove the backend's tails with the upload.
        public Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>The storage exception for a file system failure, or null for exceptions that keep their type.</summary>
    internal static StorageBackendException? Classify(Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException or EndOfStreamException or PathTooLongException => null,
        UnauthorizedAccessException => new StorageBackendException(BackendName, isTransient: false, null, "AccessDenied", exception),
        IOException => new StorageBackendException(BackendName, isTransient: true, null, null, exception),
        _ => null,
    };

    // The calls are invoked inside the try: several do their file work synchronously before returning a task.
    private static async Task<T> Classify<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex) is { } failure)
        {
            throw failure;
        }
    }

    private static async Task Classify(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex) is { } failure)
        {
            throw failure;
        }
    }
}
