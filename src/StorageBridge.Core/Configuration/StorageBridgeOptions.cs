using StorageBridge.Coordination;

namespace StorageBridge.Configuration;

/// <summary>
/// Engine-wide settings, bound from the <c>StorageBridge</c> section (or set in code through
/// <c>AddStorageBridge(o =&gt; ...)</c>). Unset values keep the engine's defaults.
/// </summary>
public sealed class StorageBridgeOptions
{
    /// <summary><c>LeaseDuration</c>: how long an append's claim holds without renewal (default 15s).</summary>
    public Duration? LeaseDuration { get; set; }

    /// <summary><c>TombstoneRetention</c>: how long a cancelled or expired upload answers 410 (default 1d).</summary>
    public Duration? TombstoneRetention { get; set; }

    /// <summary><c>CleanupInterval</c>: how often expired uploads are swept (default 1m).</summary>
    public Duration? CleanupInterval { get; set; }

    /// <summary><c>TakeoverWait</c>: how long a request waits for an older one on the same upload (default 30s).</summary>
    public Duration? TakeoverWait { get; set; }

    /// <summary><c>TailCacheSize</c>: bytes of recent tails kept in memory, all targets together (default 64MiB; 0 disables).</summary>
    public ByteSize? TailCacheSize { get; set; }

    /// <summary><c>InstanceId</c>: this process in leases (default: random per start).</summary>
    public string? InstanceId { get; set; }

    /// <summary>
    /// <c>Exposed</c>: the service is reachable beyond loopback (the Host sets it when it listens on a non-loopback
    /// address, the Functions host always). Then a target without <c>MaxUploadSize</c> gets
    /// <see cref="ExposedMaxUploadSize"/>. Unset: false.
    /// </summary>
    public bool? Exposed { get; set; }

    /// <summary>
    /// The cap of a target without <c>MaxUploadSize</c> when <see cref="Exposed"/>: 10 GiB, more than a browser user
    /// plausibly sends as one file (a dual-layer disc image is 8.5 GB, two hours of 1080p video 4-8 GB), while one
    /// request can no longer reserve a backend's whole part range (S3: 10,000 parts).
    /// </summary>
    public static readonly ByteSize ExposedMaxUploadSize = ByteSize.FromGibibytes(10);

    /// <summary><c>Metadata</c>: which metadata store (the store's own keys are bound by its registration).</summary>
    public StorageBridgeMetadataOptions Metadata { get; set; } = new();

    /// <summary>The engine's settings: set values over the defaults ("none" keeps a default, as before).</summary>
    public StorageBridgeEngineOptions ToEngineOptions()
    {
        var defaults = new StorageBridgeEngineOptions();
        return defaults with
        {
            LeaseDuration = LeaseDuration?.Value ?? defaults.LeaseDuration,
            TombstoneRetention = TombstoneRetention?.Value ?? defaults.TombstoneRetention,
            CleanupInterval = CleanupInterval?.Value ?? defaults.CleanupInterval,
            TakeoverWait = TakeoverWait?.Value ?? defaults.TakeoverWait,
            TailCacheSize = TailCacheSize?.Bytes ?? defaults.TailCacheSize,
            InstanceId = InstanceId is { Length: > 0 } id ? id : defaults.InstanceId,
        };
    }
}

/// <summary>Section <c>StorageBridge:Metadata</c>: the provider; each store binds its own keys from the same section.</summary>
public sealed class StorageBridgeMetadataOptions
{
    /// <summary>
    /// <c>Provider</c>: the store's name (Sqlite, Cosmos, InMemory). Unset: the first store the application registered
    /// with <c>Use...Metadata()</c>.
    /// </summary>
    public string? Provider { get; set; }
}
