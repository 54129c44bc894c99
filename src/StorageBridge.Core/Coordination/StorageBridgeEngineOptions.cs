namespace StorageBridge.Coordination;

/// <summary>Engine-wide settings (section <c>StorageBridge</c>).</summary>
public sealed record StorageBridgeEngineOptions
{
    /// <summary>How long an append's claim on an upload holds without renewal; another instance takes over after it lapses.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a cancelled or expired upload answers 410 before its record is forgotten (then 404).</summary>
    public TimeSpan TombstoneRetention { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often the cleanup service looks for expired uploads.</summary>
    public TimeSpan CleanupInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a new request waits for an older one on the same upload (same process) to store its bytes.</summary>
    public TimeSpan TakeoverWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bytes of recent tail objects kept in memory (all targets together), so an append that fills a part does not
    /// read its tail back from the store. 0 disables it.
    /// </summary>
    public long TailCacheSize { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Names of the completion event sinks: every completion records one pending delivery per name in the record's
    /// outbox (<see cref="Uploads.UploadRecord.Outbox"/>). Empty (the default): no outbox is written.
    /// </summary>
    public IReadOnlyList<string> EventSinks { get; init; } = [];

    /// <summary>Identifies this process in leases. Random per start unless set.</summary>
    public string InstanceId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}";
}
