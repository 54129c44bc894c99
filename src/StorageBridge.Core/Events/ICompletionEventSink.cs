namespace StorageBridge.Events;

/// <summary>
/// Where completion events go (an HTTP webhook, a queue). The dispatcher calls <see cref="DeliverAsync"/> until it
/// returns without throwing; an exception is a failed attempt, retried with backoff until the event is dead-lettered.
/// Delivery is at least once per attempt that may have reached the sink: receivers deduplicate on
/// <see cref="UploadCompletedEvent.IdempotencyKey"/>.
/// </summary>
public interface ICompletionEventSink
{
    /// <summary>Names the sink in logs, metrics and the outbox's per-sink state (stable across restarts).</summary>
    string Name { get; }

    Task DeliverAsync(UploadCompletedEvent completed, CancellationToken cancellationToken);
}
