namespace StorageBridge.Events.Tests;

internal static class SampleEvents
{
    /// <summary>An event with every field set, non-ASCII and JSON-sensitive characters included.</summary>
    public static UploadCompletedEvent Completed(string? idempotencyKey = null, string target = "photos") => new()
    {
        IdempotencyKey = idempotencyKey ?? "evt-" + Guid.NewGuid().ToString("N"),
        UploadId = Guid.NewGuid().ToString("N"),
        Target = target,
        Location = "uploads-bucket",
        ObjectKey = "tenant-a/2026/\u00e9t\u00e9 \"quoted\" <tag> & more.jpg",
        Size = 123_456_789,
        ContentType = "image/jpeg",
        FileName = "\u00e9t\u00e9 \U0001F600.jpg",
        Checksums = new Dictionary<string, string> { ["sha-256"] = "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", ["etag"] = "\"abc-2\"" },
        Metadata = new Dictionary<string, string> { ["album"] = "Ferien \u2603", ["line"] = "a\nb\tc" },
        Principal = "user-42",
        CompletedAt = new DateTimeOffset(2026, 12, 6, 10, 11, 12, 345, TimeSpan.Zero),
    };
}
