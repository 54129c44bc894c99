using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Events;

/// <summary>Builds the outbox a completion writes: the event and one pending delivery per configured sink.</summary>
internal static class CompletionEvents
{
    /// <summary>Checksum names in <see cref="UploadCompletedEvent.Checksums"/>.</summary>
    public const string Sha256 = "sha-256";
    public const string ETag = "etag";
    public const string BackendChecksum = "backend";

    /// <summary>The idempotency key of an upload's completion: one completion per upload, so one key per completion.</summary>
    public static string IdempotencyKey(string uploadId) => uploadId + ":completed";

    /// <summary>
    /// <paramref name="completed"/> with its outbox (due at once), unless no sink is configured or it has one already
    /// (a completion is recorded once; a repeated build of the same record must not reset deliveries).
    /// </summary>
    public static UploadRecord WithOutbox(UploadRecord completed, StoredObject stored, UploadTarget? target, IReadOnlyList<string> sinks)
    {
        if (sinks.Count == 0 || completed.Outbox is not null)
        {
            return completed;
        }

        var checksums = new Dictionary<string, string>(StringComparer.Ordinal);
        if (completed.Sha256 is { } sha)
        {
            checksums[Sha256] = sha;
        }

        if (stored.ETag is { Length: > 0 } etag)
        {
            checksums[ETag] = etag;
        }

        if (stored.Checksum is { Length: > 0 } checksum)
        {
            checksums[BackendChecksum] = checksum;
        }

        var completedEvent = new UploadCompletedEvent
        {
            IdempotencyKey = IdempotencyKey(completed.Id),
            UploadId = completed.Id,
            Target = completed.Target,
            Location = target?.Backend.ContainerName,
            ObjectKey = stored.Key,
            Size = completed.Offset,
            ContentType = stored.ContentType ?? completed.ContentType,
            FileName = completed.FileName,
            Checksums = checksums,
            Metadata = new Dictionary<string, string>(completed.Metadata, StringComparer.Ordinal),
            Principal = completed.Owner,
            CompletedAt = completed.UpdatedAt,
        };
        return completed with
        {
            Outbox = new CompletionOutbox
            {
                Event = completedEvent,
                Deliveries = [.. sinks.Distinct(StringComparer.Ordinal).Select(sink => new EventDelivery { Sink = sink, DueAt = completed.UpdatedAt })],
            },
        };
    }
}
