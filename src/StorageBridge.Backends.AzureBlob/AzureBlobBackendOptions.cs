namespace StorageBridge.Backends.AzureBlob;

/// <summary>Settings of an <see cref="AzureBlobBackend"/> target (<c>StorageBridge:Targets:{name}</c> with <c>Backend: AzureBlob</c>).</summary>
public sealed record AzureBlobBackendOptions
{
    /// <summary>Default smallest non-final block: 4 MiB keeps 1 MiB appends of a 100 GiB file far below 50,000 blocks.</summary>
    public const long DefaultMinBlockSize = 4L * 1024 * 1024;

    /// <summary>Default block size (also the engine's append buffer per upload).</summary>
    public const int DefaultBlockSize = 8 * 1024 * 1024;

    /// <summary>Smallest non-final block; smaller appends are kept as a tail and joined with the next append.</summary>
    public long MinBlockSize { get; init; } = DefaultMinBlockSize;

    /// <summary>Block size the engine uses when the target sets no <c>PartSize</c>.</summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    /// <summary>Default segments per tail: a small append writes only its own bytes as one more staging blob.</summary>
    public const int DefaultMaxTailSegments = 32;

    /// <summary>Staging blobs one tail may have before it is rewritten as one (1: rewrite the whole tail on every append).</summary>
    public int MaxTailSegments { get; init; } = DefaultMaxTailSegments;

    /// <summary>When false (default) completion refuses to replace an existing blob that another upload committed.</summary>
    public bool AllowOverwrite { get; init; }

    /// <summary>Create the container on first use when it does not exist.</summary>
    public bool CreateContainerIfMissing { get; init; } = true;
}
