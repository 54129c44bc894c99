using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Azure.Cosmos;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// The completion event outbox: a record with a pending delivery carries <c>eventsDueAtMs</c> (indexed, like
/// <c>expiresAtMs</c>), which <see cref="ListDueEventsAsync"/> queries.
/// </summary>
public sealed partial class CosmosUploadMetadataStore
{
    public const string EventsDueAtField = "eventsDueAtMs";

    public async IAsyncEnumerable<UploadRecord> ListDueEventsAsync(
        DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        var due = await QueryAtOrBeforeAsync(EventsDueAtField, now, "due events query", r => r.EventsDueAt, cancellationToken).ConfigureAwait(false);
        foreach (var record in due.OrderBy(r => r.EventsDueAt).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit))
        {
            yield return record;
        }
    }

    /// <summary>
    /// A container an earlier version created indexes only the expiry fields (everything else excluded), and Cosmos DB
    /// refuses range filters on excluded paths: add the due-events path to its policy (the index builds online).
    /// </summary>
    private async Task IndexEventsDueAsync(ContainerProperties existing, CancellationToken cancellationToken)
    {
        var path = $"/{EventsDueAtField}/?";
        var policy = existing.IndexingPolicy;
        if (policy.IncludedPaths.Any(p => p.Path is "/*" || p.Path == path) || !policy.ExcludedPaths.Any(p => p.Path == "/*"))
        {
            return;
        }

        policy.IncludedPaths.Add(new IncludedPath { Path = path });
        try
        {
            await RetryTransientAsync(
                "update indexing policy",
                async () => (await _container.ReplaceContainerAsync(existing, cancellationToken: cancellationToken).ConfigureAwait(false)).StatusCode,
                cancellationToken).ConfigureAwait(false);
            Log.EventsIndexAdded(_logger, _options.Container, path);
        }
        catch (Exception ex) when (ex is CosmosException or StorageBridge.Backends.StorageBackendException)
        {
            // Uploads work regardless; only the dispatcher's listing needs the path.
            Log.EventsIndexMissing(_logger, ex, _options.Container, path);
        }
    }

    /// <summary>
    /// Records whose <paramref name="field"/> (epoch milliseconds) is at or before <paramref name="now"/>, filtered to the
    /// exact instant of <paramref name="instant"/>. No ORDER BY / TOP: @vercel/cosmosdb-server (the test emulator)
    /// implements neither, so callers sort and cut client-side; the SDK pages through the result.
    /// </summary>
    private async Task<List<UploadRecord>> QueryAtOrBeforeAsync(
        string field, DateTimeOffset now, string operation, Func<UploadRecord, DateTimeOffset?> instant, CancellationToken cancellationToken)
    {
        var query = new QueryDefinition($"SELECT * FROM c WHERE c.{field} <= @now")
            .WithParameter("@now", now.ToUnixTimeMilliseconds());
        var due = new List<UploadRecord>();
        using var feed = _container.GetItemQueryStreamIterator(query);
        while (feed.HasMoreResults)
        {
            using var page = await SendAsync(operation, () => feed.ReadNextAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
            if (!page.IsSuccessStatusCode)
            {
                throw Fail(page);
            }

            using var json = await JsonDocument.ParseAsync(page.Content, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var item in json.RootElement.GetProperty("Documents").EnumerateArray())
            {
                var etag = item.TryGetProperty("_etag", out var e) ? e.GetString() ?? "" : "";
                var record = item.Deserialize(UploadRecordJson.TypeInfo)! with { Version = etag };

                // The query compares whole milliseconds; the contract is the exact instant.
                if (instant(record) is { } at && at <= now)
                {
                    due.Add(record);
                }
            }
        }

        return due;
    }
}
