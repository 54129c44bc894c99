using StorageBridge.Uploads;

namespace StorageBridge.Metadata;

public enum MetadataWriteStatus
{
    Success,
    /// <summary>The record changed since it was read (version mismatch), or already exists on create.</summary>
    Conflict,
    NotFound,
}

/// <param name="Record">The stored record with its new version (on success).</param>
public readonly record struct MetadataWriteResult(MetadataWriteStatus Status, UploadRecord? Record)
{
    public static MetadataWriteResult Conflict => new(MetadataWriteStatus.Conflict, null);
    public static MetadataWriteResult NotFound => new(MetadataWriteStatus.NotFound, null);
    public static MetadataWriteResult Success(UploadRecord record) => new(MetadataWriteStatus.Success, record);
}

/// <summary>
/// Durable upload records with optimistic concurrency: every replace or delete names the version it read, and
/// fails with <see cref="MetadataWriteStatus.Conflict"/> when another writer got there first. This is what makes
/// several instances safe without a lock server.
/// </summary>
public interface IUploadMetadataStore
{
    /// <summary>Creates the store's schema or container if needed. Called once at start-up.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken);

    Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Replaces the record if its stored version still equals <paramref name="record"/>.Version.</summary>
    Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken);

    /// <summary>Deletes the record if its stored version still equals <paramref name="version"/>.</summary>
    Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken);

    /// <summary>Records whose <see cref="UploadRecord.ExpiresAt"/> is at or before <paramref name="now"/>, oldest first, at most <paramref name="limit"/>.</summary>
    IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}
