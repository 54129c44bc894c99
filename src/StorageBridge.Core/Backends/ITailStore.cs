using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// Where a target keeps tails (bytes short of a part, and staged chunks): by default the backend's own staging
/// objects; with <c>StagingDirectory</c> a local directory (<see cref="FileSystem.LocalTailStore"/>).
/// </summary>
public interface ITailStore
{
    /// <summary>Stores the bytes under a sequence number durably (a retry of an unrecorded number replaces them).</summary>
    Task WriteAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Reads exactly <c>tail.Size</c> bytes of one tail object.</summary>
    Task ReadAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken);

    Task DeleteAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken);

    /// <summary>Removes whatever the upload left here, after it was cancelled, expired or completed.</summary>
    Task DeleteAllAsync(UploadRecord upload, CancellationToken cancellationToken);
}

/// <summary>Tails as the backend's staging objects; its <see cref="IUploadBackend.AbortAsync"/> removes them.</summary>
public sealed class BackendTailStore(IUploadBackend backend) : ITailStore
{
    public Task WriteAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        backend.WriteTailAsync(upload, sequence, content, cancellationToken);

    public Task ReadAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken) =>
        backend.ReadTailAsync(upload, tail, destination, cancellationToken);

    public Task DeleteAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken) =>
        backend.DeleteTailAsync(upload, sequence, cancellationToken);

    public Task DeleteAllAsync(UploadRecord upload, CancellationToken cancellationToken) => Task.CompletedTask;
}
