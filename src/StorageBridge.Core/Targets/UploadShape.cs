using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.Uploads;

namespace StorageBridge.Targets;

/// <summary>
/// How a target's backend holds an upload's bytes, decided once when the target is built: recorded parts
/// (<see cref="IMultipartBackend"/>) or in place at an offset (<see cref="IAppendBackend"/>). Every rule of the engine
/// that differs between the two lives here, so the append path, planning and configuration ask the shape instead of
/// branching on the backend.
/// </summary>
internal abstract class UploadShape
{
    private protected UploadShape(BackendCapabilities capabilities)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        Capabilities = capabilities;
    }

    public BackendCapabilities Capabilities { get; }

    /// <summary>Most part writes of one append at once (in place: one, in order).</summary>
    public abstract int MaxConcurrentPartsLimit { get; }

    /// <summary>Native session check after a crash, when the backend has one.</summary>
    public virtual ISessionReconciliation? Reconciliation => null;

    /// <summary>The shape of <paramref name="backend"/>; it must implement exactly one of the two.</summary>
    public static UploadShape Of(IUploadBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return backend switch
        {
            IMultipartBackend and IAppendBackend => throw new ArgumentException(
                $"{backend.GetType().Name} implements both IMultipartBackend and IAppendBackend; a backend has one shape.", nameof(backend)),
            IMultipartBackend multipart => new MultipartShape(multipart, multipart.Capabilities),
            IAppendBackend append => new InPlaceShape(append, append.Capabilities),
            _ => throw new ArgumentException(
                $"{backend.GetType().Name} implements neither IMultipartBackend nor IAppendBackend.", nameof(backend)),
        };
    }

    /// <summary>Largest upload the part count allows with <paramref name="partSize"/> when the length is unknown; null: unbounded.</summary>
    public abstract long? MaxUploadSize(long partSize);

    /// <summary>Largest upload that may be declared up front (the part size may grow); null: unbounded.</summary>
    public abstract long? MaxDeclaredLength(long configuredPartSize);

    /// <summary>Part size for the next parts of an upload (see <see cref="PartPlanner.PartSizeFor"/>).</summary>
    public abstract long PartSizeFor(long configuredPartSize, long? length, long partsLength, int partsWritten);

    /// <summary>
    /// Whether what is left at the end of an append (<paramref name="buffered"/> bytes, tail included) goes out as a
    /// part now, as far as it is flushable; otherwise it stays in the tail.
    /// </summary>
    public abstract bool FlushesRemainder(long buffered, long partSize);

    /// <summary>Whether parts written since the last metadata write (<paramref name="unrecordedBytes"/>) are recorded now.</summary>
    public abstract bool RecordsAfterParts(long unrecordedBytes);

    /// <summary>The part list to record: multipart keeps every part, in place only the offset counts.</summary>
    public abstract IReadOnlyList<PartRecord> RecordedParts(IReadOnlyList<PartRecord> recorded, IReadOnlyList<PartRecord> written);

    /// <summary>
    /// Whether parts of <paramref name="partSize"/> bytes (the last one may be shorter), <paramref name="partCount"/> of
    /// them, may be written in any order: the backend records parts, the size is a valid non-final part (minimum,
    /// alignment, maximum) no larger than <paramref name="partSizeLimit"/> (the bound on memory per request), and the
    /// count fits. Never for in-place backends.
    /// </summary>
    public abstract bool AcceptsPartsOutOfOrder(long partSizeLimit, long partSize, int partCount);

    /// <summary>Writes one part (number 1-based, at its byte offset) and returns what the engine records for it.</summary>
    public abstract Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);
}

/// <summary>Parts recorded in a list and committed from it (S3 parts, Azure blocks).</summary>
internal sealed class MultipartShape(IMultipartBackend backend, BackendCapabilities capabilities) : UploadShape(capabilities)
{
    public override int MaxConcurrentPartsLimit => UploadTarget.MaxConcurrentPartsLimit;

    // Without a declared length the part size cannot grow, so MaxParts x PartSize caps the upload.
    public override long? MaxUploadSize(long partSize) => Capabilities.MaxParts * partSize;

    public override long? MaxDeclaredLength(long configuredPartSize) => PartPlanner.MaxDeclaredLength(Capabilities, configuredPartSize);

    public override long PartSizeFor(long configuredPartSize, long? length, long partsLength, int partsWritten) =>
        PartPlanner.PartSizeFor(Capabilities, configuredPartSize, length, partsLength, partsWritten);

    // Parts count against MaxParts, which the part size was planned for: a remainder above the minimum but short
    // of a whole part stays in the tail, or small appends would use up the part numbers.
    public override bool FlushesRemainder(long buffered, long partSize) => buffered >= partSize;

    // The first part of an append holds the whole tail, so once parts are recorded the old tail is obsolete.
    public override bool RecordsAfterParts(long unrecordedBytes) => true;

    public override IReadOnlyList<PartRecord> RecordedParts(IReadOnlyList<PartRecord> recorded, IReadOnlyList<PartRecord> written) =>
        [.. recorded, .. written];

    public override bool AcceptsPartsOutOfOrder(long partSizeLimit, long partSize, int partCount) =>
        partSize >= Math.Max(Capabilities.MinPartSize, 1)
        && partSize % Math.Max(Capabilities.PartAlignment, 1) == 0
        && partSize <= Capabilities.MaxPartSize
        && partSize <= partSizeLimit
        && partCount <= Capabilities.MaxParts;

    public override Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        backend.WritePartAsync(upload, partNumber, offset, content, cancellationToken);
}

/// <summary>
/// Bytes appended in place at an offset, only the offset recorded (files, GCS sessions). Planning tests may pass
/// capabilities other than the backend's.
/// </summary>
internal sealed class InPlaceShape(IAppendBackend backend, BackendCapabilities capabilities) : UploadShape(capabilities)
{
    // Bytes written in place are recorded at most this far apart, to keep metadata writes rare.
    internal const long RecordInterval = 8L * 1024 * 1024;

    // Ranges must land in order: one in flight at a time.
    public override int MaxConcurrentPartsLimit => 1;

    public override ISessionReconciliation? Reconciliation => backend.Reconciliation;

    public override long? MaxUploadSize(long partSize) => null;

    public override long? MaxDeclaredLength(long configuredPartSize) => null;

    // No part count to stay under, so the part size never grows with the declared length.
    public override long PartSizeFor(long configuredPartSize, long? length, long partsLength, int partsWritten) =>
        PartPlanner.PartSizeFor(Capabilities, configuredPartSize, length: null, partsLength, partsWritten);

    public override bool FlushesRemainder(long buffered, long partSize) => true;

    public override bool RecordsAfterParts(long unrecordedBytes) => unrecordedBytes >= RecordInterval;

    public override IReadOnlyList<PartRecord> RecordedParts(IReadOnlyList<PartRecord> recorded, IReadOnlyList<PartRecord> written) => recorded;

    public override bool AcceptsPartsOutOfOrder(long partSizeLimit, long partSize, int partCount) => false;

    public override async Task<PartRecord> WritePartAsync(BackendUpload upload, int partNumber, long offset, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await backend.WriteAsync(upload, offset, content, cancellationToken).ConfigureAwait(false);
        return new PartRecord(partNumber, offset, content.Length);
    }
}
