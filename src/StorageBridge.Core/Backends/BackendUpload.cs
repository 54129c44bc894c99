using StorageBridge.Uploads;

namespace StorageBridge.Backends;

/// <summary>
/// What a backend sees of an upload: its identity, where the object goes, the backend's own session, and what the
/// engine has recorded as durable. Built from the engine's record for every call; a backend keeps nothing else.
/// </summary>
public sealed record BackendUpload
{
    /// <summary>The upload id (letters, digits and '-'); names staging data.</summary>
    public required string Id { get; init; }

    /// <summary>Key of the object completion commits.</summary>
    public required string ObjectKey { get; init; }

    /// <summary>What <see cref="IUploadBackend.StartAsync"/> returned (S3 UploadId, GCS session URI, ...).</summary>
    public string? Session { get; init; }

    /// <summary>Declared total length, when the client announced it.</summary>
    public long? Length { get; init; }

    /// <summary>Bytes the engine recorded as durable: parts (or the in-place range) plus the tail.</summary>
    public long Offset { get; init; }

    public string? ContentType { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = UploadRecord.EmptyMetadata;

    /// <summary>Recorded parts, in order (multipart backends; empty for in-place ones).</summary>
    public IReadOnlyList<PartRecord> Parts { get; init; } = [];

    /// <summary>Recorded tail (bytes after the parts, in the target's tail store), if any.</summary>
    public TailRecord? Tail { get; init; }

    /// <summary>Highest tail sequence ever written; one more may have been written but never recorded.</summary>
    public int TailSequence { get; init; }

    /// <summary>Bytes in parts (or written in place): <see cref="Offset"/> without the tail.</summary>
    public long PartsLength => Offset - (Tail?.Size ?? 0);

    /// <summary>The backend's view of an engine record.</summary>
    public static BackendUpload From(UploadRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new BackendUpload
        {
            Id = record.Id,
            ObjectKey = record.ObjectKey,
            Session = record.Session,
            Length = record.Length,
            Offset = record.Offset,
            ContentType = record.ContentType,
            FileName = record.FileName,
            Metadata = record.Metadata,
            Parts = record.Parts,
            Tail = record.Tail,
            TailSequence = record.TailSequence,
        };
    }
}
