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

    /// <summary>
    /// Records whose outbox has a pending delivery due at or before <paramref name="now"/>
    /// (<see cref="UploadRecord.EventsDueAt"/>), earliest first, at most <paramref name="limit"/>: an index range read,
    /// like <see cref="ListExpiredAsync"/>, so its cost follows what is due, not the number of records.
    /// </summary>
    IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    // ---- lookups: an index from a key to an upload id (see UploadLookup) ----

    /// <summary>
    /// Adds the entry unless one exists under its key, expired or not: atomic, of several concurrent adds exactly one
    /// succeeds and the others get <see cref="MetadataWriteStatus.Conflict"/>.
    /// </summary>
    Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken);

    /// <summary>The entry under <paramref name="key"/> (expired ones too, until deleted), or null.</summary>
    Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken);

    /// <summary>Replaces the entry if its stored version still equals <paramref name="lookup"/>.Version.</summary>
    Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken);

    /// <summary>Deletes the entry if its stored version still equals <paramref name="version"/>.</summary>
    Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken);

    /// <summary>Deletes entries whose <see cref="UploadLookup.ExpiresAt"/> is at or before <paramref name="now"/>, at most <paramref name="limit"/>; returns how many.</summary>
    Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);
}
