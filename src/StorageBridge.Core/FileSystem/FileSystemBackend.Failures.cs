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

    public Task<string?> StartAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(() => StartCoreAsync(upload, cancellationToken));

    public Task<PartRecord> WritePartAsync(UploadRecord upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(() => WritePartCoreAsync(upload, partNumber, offset, content, cancellationToken));

    public Task WriteTailAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        Classify(() => WriteTailCoreAsync(upload, sequence, content, cancellationToken));

    public Task ReadTailAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
        Classify(() => ReadTailCoreAsync(upload, tail, destination, cancellationToken));

    public Task DeleteTailAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken) =>
        Classify(() => DeleteTailCoreAsync(upload, sequence, cancellationToken));

    public Task<StoredObject> CompleteAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(() => CompleteCoreAsync(upload, cancellationToken));

    public Task AbortAsync(UploadRecord upload, CancellationToken cancellationToken) =>
        Classify(() => AbortCoreAsync(upload, cancellationToken));

    public Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken) =>
        Classify(() => OpenReadCoreAsync(objectKey, offset, length, cancellationToken));

    public Task<StoredObject> ConcatenateAsync(UploadRecord upload, IReadOnlyList<string> sourceKeys, CancellationToken cancellationToken) =>
        Classify(() => ConcatenateCoreAsync(upload, sourceKeys, cancellationToken));

    public Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken) =>
        Classify(() => DeleteObjectCoreAsync(objectKey, cancellationToken));

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
