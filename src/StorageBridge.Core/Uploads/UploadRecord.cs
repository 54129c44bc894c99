using System.Text.Json.Serialization;

namespace StorageBridge.Uploads;

/// <summary>Lifecycle of an upload resource.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UploadState>))]
public enum UploadState
{
    Open,
    Completing,
    Completed,
    Cancelled,
    Expired,
}

/// <summary>A part the backend holds durably (S3 part, Azure block, or a contiguous range for in-place backends).</summary>
public sealed record PartRecord(int Number, long Offset, long Size, string? ETag = null, string? Checksum = null);

/// <summary>
/// Bytes short of a full part, kept durably by the backend: one tail object (<see cref="Sequence"/>, <see cref="Size"/>),
/// or, with <see cref="Segments"/>, several tail objects in byte order, so a small append writes only its own bytes
/// instead of rewriting the whole tail. <see cref="Size"/> is always the whole tail; <see cref="Sequence"/> the last object.
/// </summary>
public sealed record TailRecord(int Sequence, long Size)
{
    /// <summary>The tail's objects in byte order when there are several (each a single-object tail); null: just this one.</summary>
    public IReadOnlyList<TailRecord>? Segments { get; init; }

    /// <summary>The objects holding the tail's bytes, in order (what a backend reads or deletes).</summary>
    [JsonIgnore]
    public IReadOnlyList<TailRecord> Objects => Segments is { Count: > 0 } segments ? segments : [this];

    /// <summary>This tail followed by one more object of <paramref name="size"/> bytes under <paramref name="sequence"/>.</summary>
    public TailRecord Append(int sequence, long size) =>
        new(sequence, Size + size) { Segments = [.. Objects.Select(o => new TailRecord(o.Sequence, o.Size)), new TailRecord(sequence, size)] };

    public bool Equals(TailRecord? other) =>
        other is not null && Sequence == other.Sequence && Size == other.Size
        && (ReferenceEquals(this, other) || Objects.Select(o => (o.Sequence, o.Size)).SequenceEqual(other.Objects.Select(o => (o.Sequence, o.Size))));

    public override int GetHashCode() => HashCode.Combine(Sequence, Size);
}

/// <summary>What the backend reports about a committed object.</summary>
public sealed record StoredObject(string Key, long Length, string? ETag = null, string? Checksum = null, string? ContentType = null);

/// <summary>
/// One upload resource. The metadata store is the source of truth: <see cref="Offset"/> only ever counts bytes
/// that are durable in the backend (parts plus tail), so it never goes backwards.
/// </summary>
public sealed record UploadRecord
{
    public required string Id { get; init; }
    public required string Target { get; init; }
    public required string ObjectKey { get; init; }

    /// <summary>Protocol that created the upload ("ietf", "tus", "resumable").</summary>
    public string Protocol { get; init; } = "ietf";

    public long? Length { get; init; }
    public long Offset { get; init; }
    public UploadState State { get; init; } = UploadState.Open;

    /// <summary>
    /// Principal that created the upload (null: created anonymously). Every other principal is answered as if the
    /// upload did not exist.
    /// </summary>
    public string? Owner { get; init; }

    public string? ContentType { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyMetadata;

    /// <summary>Opaque backend state (S3 UploadId, GCS session URI, ...).</summary>
    public string? Session { get; init; }
    public IReadOnlyList<PartRecord> Parts { get; init; } = [];
    public TailRecord? Tail { get; init; }

    /// <summary>Highest tail sequence ever written, so a new tail never overwrites one a record still points at.</summary>
    public int TailSequence { get; init; }

    /// <summary>Whole-upload digest the client announced (RFC 9530 Repr-Digest, "sha-256" or "sha-512"), checked at completion.</summary>
    public string? ExpectedDigestAlgorithm { get; init; }
    public string? ExpectedDigest { get; init; }

    /// <summary>Serialized running SHA-256 over the durable bytes, kept when a digest was announced or requested.</summary>
    public string? HashState { get; init; }

    /// <summary>Base64 SHA-256 of the completed content, when it was tracked.</summary>
    public string? Sha256 { get; init; }
    public StoredObject? StoredObject { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Incomplete uploads are cleaned after this; for tombstones (cancelled/expired) the record itself goes.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Instance appending to this upload, and until when its claim holds without renewal.</summary>
    public string? LeaseOwner { get; init; }
    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>When a lease taken over from another instance becomes writable (that instance's lease lapses).</summary>
    public DateTimeOffset? LeaseFrom { get; init; }

    /// <summary>Protocol-specific values a front-end needs to answer later requests (tus Upload-Metadata, ...).</summary>
    public IReadOnlyDictionary<string, string> ProtocolState { get; init; } = EmptyMetadata;

    /// <summary>
    /// Created by <see cref="Coordination.UploadAssembler"/> from pieces that arrive out of order: only the assembler
    /// appends to it (other appends get <see cref="Coordination.UploadOutcome.Conflict"/>), without min-append-size.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Assembled { get; init; }

    /// <summary>Optimistic-concurrency token assigned by the metadata store; not part of the stored document.</summary>
    [JsonIgnore]
    public string Version { get; init; } = "";

    /// <summary>
    /// The completion event and its delivery to each configured sink (null: none was recorded). Written by the same
    /// compare-and-swap that marks the upload completed; see docs/events.md.
    /// </summary>
    public Events.CompletionOutbox? Outbox { get; init; }

    /// <summary>When the outbox's next delivery is due (what stores index for <c>ListDueEventsAsync</c>); null: nothing pending.</summary>
    [JsonIgnore]
    public DateTimeOffset? EventsDueAt => Outbox?.DueAt;

    [JsonIgnore]
    public bool IsActive => State is UploadState.Open or UploadState.Completing;

    [JsonIgnore]
    public long PartsLength => Offset - (Tail?.Size ?? 0);

    internal static readonly IReadOnlyDictionary<string, string> EmptyMetadata = new Dictionary<string, string>();
}
