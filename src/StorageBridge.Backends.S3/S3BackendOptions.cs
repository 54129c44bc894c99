namespace StorageBridge.Backends.S3;

/// <summary>Settings the S3 backend uses (built from <see cref="S3TargetOptions"/>).</summary>
public sealed record S3BackendOptions
{
    public const int DefaultMaxParts = 10_000;

    /// <summary>Folder (under <see cref="Prefix"/>) that holds tails of in-progress uploads; object keys never start with it.</summary>
    public const string StagingFolder = ".storagebridge-staging/";

    public required string Bucket { get; init; }

    /// <summary>The target's key prefix; object keys arrive with it already applied, staging objects live under it.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>AWS region (e.g. eu-west-1); with <see cref="ServiceUrl"/> only the signing region.</summary>
    public string? Region { get; init; }

    /// <summary>Endpoint of an S3-compatible store (MinIO, emulators); null for AWS.</summary>
    public string? ServiceUrl { get; init; }

    public bool ForcePathStyle { get; init; }

    /// <summary>Static credentials; when null the SDK's default chain (environment, profile, instance role) is used.</summary>
    public string? AccessKey { get; init; }
    public string? SecretKey { get; init; }

    public int MaxParts { get; init; } = DefaultMaxParts;

    public const int DefaultMaxTailSegments = 32;

    /// <summary>
    /// Tail objects one tail may consist of: a small append writes only its own bytes as one more object, and they are
    /// read back once, when a part forms (or when this many exist). 1: each small append rewrites the whole tail.
    /// </summary>
    public int MaxTailSegments { get; init; } = DefaultMaxTailSegments;

    /// <summary>
    /// tus concatenation copies each partial upload's object into the final one with UploadPartCopy when every
    /// non-final one is at least 5 MiB. False streams them through the bridge instead (stores without UploadPartCopy).
    /// </summary>
    public bool UploadPartCopy { get; init; } = true;

    /// <summary>Create the bucket on first use (emulators and development stores).</summary>
    public bool CreateBucketIfMissing { get; init; }

    /// <summary>Prefix of every staging object of this target.</summary>
    public string StagingPrefix => Prefix + StagingFolder;
}
