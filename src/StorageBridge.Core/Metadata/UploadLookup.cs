namespace StorageBridge.Metadata;

/// <summary>
/// An index entry of the metadata store: a key that names an upload (e.g. a front-end's hash of the identity a client
/// gives a file, so its later requests find the upload). Versioned like upload records, so "first creator wins" and
/// "replace the entry whose upload is gone" are compare-and-swap operations; kept apart from upload records, so the
/// upload expiry scan never sees it.
/// </summary>
public sealed record UploadLookup
{
    /// <summary>The index key (at most 200 characters of letters, digits, '-', '_', '.' and ':').</summary>
    public required string Key { get; init; }

    /// <summary>The upload the key names.</summary>
    public required string UploadId { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the entry was last written (a new entry whose upload does not exist yet is still being set up).</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When the entry may be forgotten (<see cref="IUploadMetadataStore.DeleteExpiredLookupsAsync"/>); null: never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Opaque version assigned by the store; a replace or delete names the version it read.</summary>
    public string Version { get; init; } = "";

    /// <summary>Whether <paramref name="key"/> can be stored by every store (used as a Cosmos id and a SQLite key).</summary>
    public static bool IsValidKey(string key) =>
        key is { Length: > 0 and <= 200 } && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or ':');
}

/// <param name="Lookup">The stored entry with its new version (on success).</param>
public readonly record struct LookupWriteResult(MetadataWriteStatus Status, UploadLookup? Lookup)
{
    public static LookupWriteResult Conflict => new(MetadataWriteStatus.Conflict, null);
    public static LookupWriteResult NotFound => new(MetadataWriteStatus.NotFound, null);
    public static LookupWriteResult Success(UploadLookup lookup) => new(MetadataWriteStatus.Success, lookup);
}
