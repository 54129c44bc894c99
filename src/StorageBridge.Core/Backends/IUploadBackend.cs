using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// What a backend accepts. The coordinator plans parts from these, so front-ends never see cloud rules.
/// </summary>
/// <param name="MinPartSize">Smallest non-final part (S3: 5 MiB; files: 0).</param>
/// <param name="PartAlignment">Non-final parts must be a multiple of this (GCS: 256 KiB; otherwise 1).</param>
/// <param name="MaxParts">Most parts one object may have (S3: 10,000).</param>
/// <param name="MaxPartSize">Largest single part (S3: 5 GiB).</param>
/// <param name="DefaultPartSize">Part size used when the target does not set one; also the append buffer size.</param>
/// <param name="TracksParts">
/// True when completion needs the recorded part list (S3 parts, Azure blocks). False for backends that append
/// in place at an offset (files, GCS sessions): the coordinator then keeps only the offset, not a growing list.
/// </param>
/// <param name="MaxTailSegments">
/// How many tail objects one tail may consist of (see <see cref="TailRecord.Segments"/>). 1: every small append reads
/// the tail back and writes it again, longer; more: a small append writes only its own bytes as one more segment, and
/// the segments are read back once, when a part forms (or when this many exist).
/// </param>
/// <param name="DefaultConcurrentParts">
/// Part writes of one append that may run while the next part is read from the request, unless the target sets
/// <c>MaxConcurrentParts</c>; 0 writes each part before reading on. Backends that write in place take at most 1.
/// </param>
public sealed record BackendCapabilities(
    long MinPartSize,
    long PartAlignment,
    int MaxParts,
    long MaxPartSize,
    int DefaultPartSize,
    bool TracksParts,
    int MaxTailSegments = 1,
    int DefaultConcurrentParts = 0);

/// <summary>
/// A storage backend for one target. Stateless: all provider state lives in <see cref="UploadRecord.Session"/>,
/// <see cref="UploadRecord.Parts"/> and <see cref="UploadRecord.Tail"/>, so any instance can continue any upload.
/// Backends never see HTTP. Bytes written but not yet recorded by the coordinator are invisible: a later write of
/// the same part number or offset replaces them.
/// </summary>
public interface IUploadBackend
{
    BackendCapabilities Capabilities { get; }

    /// <summary>Starts the native upload (S3 CreateMultipartUpload, GCS session, ...); returns the session to keep.</summary>
    Task<string?> StartAsync(UploadRecord upload, CancellationToken cancellationToken);

    /// <summary>Writes one part: <paramref name="partNumber"/> is 1-based; <paramref name="offset"/> is its byte position.</summary>
    Task<PartRecord> WritePartAsync(UploadRecord upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Durably stores a tail object (a whole tail or one segment) under a new sequence number; older ones stay until deleted.</summary>
    Task WriteTailAsync(UploadRecord upload, int sequence, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// Reads one tail object (<see cref="TailRecord.Sequence"/>, <see cref="TailRecord.Size"/>) into <paramref name="destination"/>
    /// (at least that long). The coordinator calls it once per entry of <see cref="TailRecord.Objects"/>.
    /// </summary>
    Task ReadTailAsync(UploadRecord upload, TailRecord tail, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>Deletes a tail that no record points at any more. Missing tails are not an error.</summary>
    Task DeleteTailAsync(UploadRecord upload, int sequence, CancellationToken cancellationToken);

    /// <summary>Commits the object from the recorded parts (all parts are in <paramref name="upload"/>); idempotent.</summary>
    Task<StoredObject> CompleteAsync(UploadRecord upload, CancellationToken cancellationToken);

    /// <summary>Drops the native upload and every staging byte; idempotent.</summary>
    Task AbortAsync(UploadRecord upload, CancellationToken cancellationToken);

    /// <summary>Opens a committed object for reading from <paramref name="offset"/>, <paramref name="length"/> bytes (null: to the end).</summary>
    Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Deletes a committed object. Missing objects are not an error.</summary>
    Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken);
}
