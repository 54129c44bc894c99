using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// Where a target keeps tails (bytes short of a part, and staged chunks), keyed by upload id and sequence number: by
/// default the backend's own staging objects (<see cref="IUploadBackend.Tails"/>); with <c>StagingDirectory</c> a local
/// directory (<see cref="FileSystem.LocalTailStore"/>). The engine uses exactly one per target.
/// </summary>
/// <remarks>
/// The engine writes a sequence number before a record names it and never writes a recorded one again, so a store
/// must guarantee: a write is durable when it returns; a repeated write of a sequence replaces its bytes; reads of a
/// missing sequence throw <see cref="FileNotFoundException"/>; deletes of missing ones succeed. Failures are
/// classified like the backend's (<see cref="StorageBackendException"/>).
/// </remarks>
public interface ITailStore
{
    /// <summary>Stores the bytes under a sequence number durably (a retry of an unrecorded number replaces them).</summary>
    Task WriteAsync(string uploadId, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Reads exactly <c>tail.Size</c> bytes of one tail object (<see cref="Uploads.TailRecord.Sequence"/>) into
    /// <paramref name="destination"/> (at least that long). The engine calls it once per entry of
    /// <see cref="Uploads.TailRecord.Objects"/>.
    /// </summary>
    Task ReadAsync(string uploadId, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>Deletes a tail object no record points at any more. Missing ones are not an error.</summary>
    Task DeleteAsync(string uploadId, int sequence, CancellationToken cancellationToken);

    /// <summary>
    /// Removes whatever the upload left here, after it was cancelled, expired or completed (a backend's own tail store
    /// may do nothing: its <see cref="IUploadBackend.AbortAsync"/> and completion remove its staging objects).
    /// </summary>
    Task DeleteAllAsync(string uploadId, CancellationToken cancellationToken);
}
