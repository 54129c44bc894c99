using System.Text.Json.Serialization;

namespace StorageBridge.Events;

/// <summary>Where one sink's delivery of a completion event stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EventDeliveryStatus>))]
public enum EventDeliveryStatus
{
    /// <summary>Not delivered yet: due at <see cref="EventDelivery.DueAt"/> (a first try, a retry, or a lapsed lease).</summary>
    Pending,

    /// <summary>The sink accepted it.</summary>
    Delivered,

    /// <summary>Given up after <c>MaxAttempts</c> failed attempts; kept in the record for operators.</summary>
    DeadLettered,
}

/// <summary>
/// One sink's delivery of an upload's completion event. While an instance delivers, it holds the delivery by
/// compare-and-swap on the record (<see cref="LeaseOwner"/>, <see cref="LeaseUntil"/>) and <see cref="DueAt"/> is the
/// lease's end, so a delivery whose instance died becomes due again when its lease lapses.
/// </summary>
public sealed record EventDelivery
{
    /// <summary>The sink's name (<c>StorageBridge:Events:Sinks:{name}</c>).</summary>
    public required string Sink { get; init; }

    public EventDeliveryStatus Status { get; init; }

    /// <summary>Attempts started (counted when an instance takes the delivery, so a crash during one counts too).</summary>
    public int Attempts { get; init; }

    /// <summary>When the delivery is due (pending only): the next attempt, or the end of the running attempt's lease.</summary>
    public DateTimeOffset DueAt { get; init; }

    public string? LeaseOwner { get; init; }

    public DateTimeOffset? LeaseUntil { get; init; }

    /// <summary>When it was delivered or dead-lettered.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>Why the last attempt failed (an exception's message, a status code), for operators.</summary>
    public string? LastError { get; init; }
}

/// <summary>
/// The outbox of one upload record: its completion event and each sink's delivery of it. Written by the same
/// compare-and-swap that marks the upload completed, so the event exists exactly when the completion does.
/// </summary>
public sealed record CompletionOutbox
{
    public required UploadCompletedEvent Event { get; init; }

    public IReadOnlyList<EventDelivery> Deliveries { get; init; } = [];

    /// <summary>The earliest due time of a pending delivery (what stores index); null when every delivery finished.</summary>
    [JsonIgnore]
    public DateTimeOffset? DueAt
    {
        get
        {
            DateTimeOffset? due = null;
            foreach (var delivery in Deliveries)
            {
                if (delivery.Status == EventDeliveryStatus.Pending && (due is null || delivery.DueAt < due))
                {
                    due = delivery.DueAt;
                }
            }

            return due;
        }
    }

    /// <summary>This outbox with <paramref name="sink"/>'s delivery replaced by <paramref name="change"/>'s result.</summary>
    public CompletionOutbox WithDelivery(string sink, Func<EventDelivery, EventDelivery> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return this with { Deliveries = [.. Deliveries.Select(d => string.Equals(d.Sink, sink, StringComparison.Ordinal) ? change(d) : d)] };
    }
}
