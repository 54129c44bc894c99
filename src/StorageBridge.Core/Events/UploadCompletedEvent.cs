namespace StorageBridge.Events;

/// <summary>
/// What the application is told when an upload completes: written to the outbox by the same compare-and-swap that
/// marks the upload complete, then delivered to every configured sink. <see cref="IdempotencyKey"/> is the same on
/// every delivery attempt of one completion, so receivers can drop repeats.
/// </summary>
public sealed record UploadCompletedEvent
{
    /// <summary>Unique per completion; receivers deduplicate on it.</summary>
    public required string IdempotencyKey { get; init; }
    public required string UploadId { get; init; }
    public required string Target { get; init; }

    /// <summary>Bucket (S3, GCS), container (Azure) or root directory (files) the object is in.</summary>
    public string? Location { get; init; }
    public required string ObjectKey { get; init; }
    public long Size { get; init; }
    public string? ContentType { get; init; }
    public string? FileName { get; init; }

    /// <summary>Checksums known for the object: "sha-256" (base64) when tracked, the backend's ETag/checksum.</summary>
    public IReadOnlyDictionary<string, string> Checksums { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Owner of the upload (see <c>UploadRecord.Owner</c>); null for anonymous uploads.</summary>
    public string? Principal { get; init; }
    public DateTimeOffset CompletedAt { get; init; }
}
