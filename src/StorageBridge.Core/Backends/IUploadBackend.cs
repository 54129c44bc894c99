using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// What a backend accepts. The engine plans parts from these, so front-ends never see cloud rules.
/// </summary>
/// <param name="MinPartSize">Smallest non-final part (S3: 5 MiB; files: 0).</param>
/// <param name="PartAlignment">Non-final parts must be a multiple of this (GCS: 256 KiB; otherwise 1).</param>
/// <param name="MaxParts">Most parts one object may have (S3: 10,000); only multipart backends are held to it.</param>
/// <param name="MaxPartSize">Largest single part (S3: 5 GiB).</param>
/// <param name="DefaultPartSize">Part size used when the target does not set one; also the append buffer size.</param>
/// <param name="MaxTailSegments">
/// How many tail objects one tail may consist of (see <see cref="Uploads.TailRecord.Segments"/>). 1: every small append
/// reads the tail back and writes it again, longer; more: a small append writes only its own bytes as one more segment,
/// and the segments are read back once, when a part forms (or when this many exist).
/// </param>
/// <param name="DefaultConcurrentParts">
/// Part writes of one append that may run while the next part is read from the request, unless the target sets
/// <c>MaxConcurrentParts</c>; 0 writes each part before reading on. In-place backends (<see cref="IAppendBackend"/>)
/// take at most 1.
/// </param>
public sealed record BackendCapabilities(
    long MinPartSize,
    long PartAlignment,
    int MaxParts,
    long MaxPartSize,
    int DefaultPartSize,
    int MaxTailSegments = 1,
    int DefaultConcurrentParts = 0);

/// <summary>
/// What every storage backend of a target does. A backend implements exactly one of the two shapes that say how an
/// upload's bytes are written: <see cref="IMultipartBackend"/> (parts or blocks the engine records in a list and the
/// backend commits from it: S3, Azure) or <see cref="IAppendBackend"/> (bytes written in place at an offset, only the
/// offset recorded: files, GCS sessions). The engine decides the shape once per target.
/// </summary>
/// <remarks>
/// What an implementation must guarantee:
/// <list type="bullet">
/// <item>Stateless: everything needed to continue an upload is in the <see cref="BackendUpload"/> it is given (the
/// engine's record is the source of truth), so any instance, after any crash, can continue any upload.</item>
/// <item>Unrecorded writes are invisible: bytes written but not yet recorded by the engine (a part it never recorded,
/// bytes past <see cref="BackendUpload.Offset"/>, a tail sequence no record names) never show up in a committed
/// object, and a later write of the same part number, offset or sequence replaces them.</item>
/// <item>Idempotent: <see cref="StartAsync"/> aside, every call may be repeated after a failure or a crash with the
/// same arguments and must then succeed or fail the same way (completion of an already completed upload returns the
/// object; abort and deletes of something missing succeed).</item>
/// <item>Failures are classified where the provider's error is understood: outages, throttling, timeouts and dropped
/// connections as a transient <see cref="StorageBackendException"/> (clients are told to retry), refusals that only a
/// configuration change fixes as a permanent one; the outcomes <see cref="ObjectExistsException"/>,
/// <see cref="UploadSessionGoneException"/> and <see cref="FileNotFoundException"/> (a missing object or tail) keep
/// their own types. Anything else is treated as a bug (500).</item>
/// <item>Never sees HTTP: no request, header or status of a front-end reaches a backend.</item>
/// </list>
/// </remarks>
public interface IUploadBackend
{
    BackendCapabilities Capabilities { get; }

    /// <summary>
    /// The backend's own staging objects for tails (bytes short of a part, and staged chunks). A target with
    /// <c>StagingDirectory</c> uses a local store instead; the engine reaches tails only through one
    /// <see cref="ITailStore"/> per target.
    /// </summary>
    ITailStore Tails { get; }

    /// <summary>Joining committed objects into a new one, when the backend can (tus concatenation); null otherwise.</summary>
    IObjectConcatenation? Concatenation { get; }

    /// <summary>
    /// Where the target's objects live, as completion events name it: the bucket (S3, GCS), the container (Azure) or
    /// the root directory (files); null when the backend does not say.
    /// </summary>
    string? ContainerName => null;

    /// <summary>
    /// Starts the native upload (S3 CreateMultipartUpload, GCS session, a staging file, ...); returns the session the
    /// engine keeps in <see cref="BackendUpload.Session"/> (null: none). Called once, before the record exists.
    /// </summary>
    Task<string?> StartAsync(BackendUpload upload, CancellationToken cancellationToken);

    /// <summary>
    /// Commits the object under <see cref="BackendUpload.ObjectKey"/> from what the record holds (its parts, or its
    /// <see cref="BackendUpload.Offset"/> bytes; a recorded <see cref="BackendUpload.Tail"/> belongs at the end), atomically
    /// replacing an object under that key unless the target forbids it (<see cref="ObjectExistsException"/>), and removes
    /// the upload's staging data. Idempotent: a repeat after a crash returns the committed object.
    /// </summary>
    Task<StoredObject> CompleteAsync(BackendUpload upload, CancellationToken cancellationToken);

    /// <summary>Drops the native upload and every staging byte (also tails never recorded); idempotent.</summary>
    Task AbortAsync(BackendUpload upload, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a committed object for reading from <paramref name="offset"/>, <paramref name="length"/> bytes (null: to
    /// the end). A missing object is a <see cref="FileNotFoundException"/>.
    /// </summary>
    Task<Stream> OpenReadAsync(string objectKey, long offset, long? length, CancellationToken cancellationToken);

    /// <summary>Deletes a committed object. Missing objects are not an error.</summary>
    Task DeleteObjectAsync(string objectKey, CancellationToken cancellationToken);
}

/// <summary>
/// A backend that stores an upload as numbered parts (S3 parts, Azure blocks) the engine records in
/// <see cref="BackendUpload.Parts"/>; <see cref="IUploadBackend.CompleteAsync"/> commits exactly that list, in order.
/// Parts of one append may be written concurrently; non-final parts respect <see cref="BackendCapabilities.MinPartSize"/>,
/// <see cref="BackendCapabilities.PartAlignment"/> and at most <see cref="BackendCapabilities.MaxParts"/> exist.
/// </summary>
public interface IMultipartBackend : IUploadBackend
{
    /// <summary>
    /// Writes one part: <paramref name="partNumber"/> is 1-based; <paramref name="offset"/> is its byte position in the
    /// object. Returns what the engine records for it (number, offset, size, and the ETag or checksum completion needs).
    /// A repeat of an unrecorded part number replaces the earlier bytes.
    /// </summary>
    Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);
}

/// <summary>
/// A backend that appends an upload's bytes in place (a staging file, a GCS resumable session): the engine records
/// only the offset, writes one range at a time and in order, and <see cref="IUploadBackend.CompleteAsync"/> commits the
/// first <see cref="BackendUpload.Offset"/> bytes (followed by the recorded tail, if any).
/// </summary>
public interface IAppendBackend : IUploadBackend
{
    /// <summary>
    /// Writes <paramref name="content"/> at <paramref name="offset"/>, which is always the end of what the record calls
    /// durable in parts (<see cref="BackendUpload.PartsLength"/> plus earlier ranges of the same append). Bytes past the
    /// recorded offset are not part of the upload until the engine records them; a repeat at the same offset replaces them.
    /// </summary>
    Task WriteAsync(BackendUpload upload, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>
    /// The backend's check of a native session that may hold bytes the record does not know of (GCS confirms chunks
    /// before the engine records them); null when the record always knows everything the backend holds.
    /// </summary>
    ISessionReconciliation? Reconciliation { get; }
}
