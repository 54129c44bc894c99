namespace StorageBridge.Targets;

/// <summary>
/// Quotas and abuse limits of a target (<c>Targets:{name}:Limits</c>, see docs/limits.md). Null means no limit.
/// Rate limits are enforced by the endpoints; the engine refuses creations past the metadata, file name, open-upload
/// and concatenation limits before anything is stored.
/// </summary>
public sealed record TargetQuotas
{
    public const long DefaultMaxMetadataSize = 4 * 1024;
    public const int DefaultMaxFileNameLength = 255;
    public const int DefaultMaxConcatSources = 100;

    /// <summary>
    /// For an anonymous creation (no <c>Owner</c>), per-principal limits count against this claim of
    /// <c>CreateUploadRequest.Principal</c>, when present (the endpoints set it to the client's IP address).
    /// </summary>
    public const string AnonymousClientClaim = "storagebridge:client";

    /// <summary>Largest <see cref="MaxOpenUploads"/>: a creation may read every slot of its principal.</summary>
    public const int MaxOpenUploadsLimit = 1000;

    public int? CreationsPerMinute { get; init; }
    public long? BytesPerSecond { get; init; }
    public int? MaxOpenUploads { get; init; }
    public long MaxMetadataSize { get; init; } = DefaultMaxMetadataSize;
    public int MaxFileNameLength { get; init; } = DefaultMaxFileNameLength;
    public int MaxConcatSources { get; init; } = DefaultMaxConcatSources;
}
