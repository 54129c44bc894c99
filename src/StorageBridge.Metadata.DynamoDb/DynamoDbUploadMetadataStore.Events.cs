using System.Runtime.CompilerServices;
using Amazon.DynamoDBv2.Model;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// The completion event outbox: a record with a pending delivery carries <c>ev</c> ("due") and <c>evd</c> (its due
/// time in .NET UTC ticks), the keys of a second sparse global secondary index <c>events</c> (keys only). Records with
/// nothing to deliver are not in it, so listing due events is one Query, never a Scan.
/// </summary>
public sealed partial class DynamoDbUploadMetadataStore
{
    /// <summary>The sparse global secondary index of due completion events (partition <c>ev</c>, sort <c>evd</c>, keys only).</summary>
    public const string EventsIndexName = "events";

    public const string EventsPartitionAttribute = "ev";

    public const string EventsDueAttribute = "evd";

    private const string EventsDuePartition = "due";

    public async IAsyncEnumerable<UploadRecord> ListDueEventsAsync(
        DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        var keys = await QueryIndexDueAsync(EventsIndexName, EventsPartitionAttribute, EventsDueAttribute, EventsDuePartition, now, limit, cancellationToken)
            .ConfigureAwait(false);

        // The index may lag the table: the records as they are now, still due, earliest first.
        var records = new List<UploadRecord>(keys.Count);
        foreach (var item in await BatchGetAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            if (FromItem(item) is { EventsDueAt: { } due } record && due <= now)
            {
                records.Add(record);
            }
        }

        foreach (var record in records.OrderBy(r => r.EventsDueAt).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit))
        {
            yield return record;
        }
    }

    private static void AddEventsDue(Dictionary<string, AttributeValue> item, DateTimeOffset? due)
    {
        if (due is { } at)
        {
            item[EventsPartitionAttribute] = new() { S = EventsDuePartition };
            item[EventsDueAttribute] = new() { N = Number(at.UtcTicks) };
        }
    }
}
