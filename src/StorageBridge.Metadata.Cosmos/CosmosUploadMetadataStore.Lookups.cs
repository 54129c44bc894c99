using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// Lookups (<see cref="UploadLookup"/>) live in the same container as the upload records, as documents of their own
/// type: id <c>lookup.{key}</c> (upload ids never contain a dot), <c>type: "lookup"</c>, and their own expiry field
/// <c>lookupExpiresAtMs</c>, so the upload expiry query (on <c>expiresAtMs</c>) never sees them. The same container
/// because a deployment provisions exactly one (throughput is paid per container, and with CreateIfMissing off the
/// operator would have to create a second); the partition key /id puts each lookup in its own logical partition like
/// each upload. A <c>ttl</c> lets the service drop entries the sweep never reaches.
/// </summary>
public sealed partial class CosmosUploadMetadataStore
{
    public const string LookupExpiresAtField = "lookupExpiresAtMs";

    private const string LookupIdPrefix = "lookup.";

    public async Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var id = LookupDocumentId(lookup.Key);
        var retried = new StrongBox<bool>();
        using var response = await SendAsync(
            "create lookup",
            () => _container.CreateItemStreamAsync(ToLookupDocument(lookup), new PartitionKey(id), NoContent, cancellationToken),
            cancellationToken,
            retried).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.Created or HttpStatusCode.OK => LookupWriteResult.Success(lookup with { Version = ETagOf(response) }),
            HttpStatusCode.Conflict when retried.Value => await LookupLandedEarlierAsync(lookup, cancellationToken).ConfigureAwait(false),
            HttpStatusCode.Conflict => LookupWriteResult.Conflict,
            _ => throw Fail(response),
        };
    }

    public async Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return await ReadDocumentAsync("read lookup", LookupDocumentId(key), FromLookupDocumentAsync, cancellationToken).ConfigureAwait(false);
    }

    public async Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        if (string.IsNullOrEmpty(lookup.Version))
        {
            return await GetLookupAsync(lookup.Key, cancellationToken).ConfigureAwait(false) is null
                ? LookupWriteResult.NotFound
                : LookupWriteResult.Conflict;
        }

        var id = LookupDocumentId(lookup.Key);
        var options = new ItemRequestOptions { IfMatchEtag = lookup.Version, EnableContentResponseOnWrite = false };
        var retried = new StrongBox<bool>();
        using var response = await SendAsync(
            "replace lookup",
            () => _container.ReplaceItemStreamAsync(ToLookupDocument(lookup), id, new PartitionKey(id), options, cancellationToken),
            cancellationToken,
            retried).ConfigureAwait(false);

        return response.StatusCode switch
        {
            HttpStatusCode.OK => LookupWriteResult.Success(lookup with { Version = ETagOf(response) }),
            HttpStatusCode.PreconditionFailed when retried.Value => await LookupLandedEarlierAsync(lookup, cancellationToken).ConfigureAwait(false),
            HttpStatusCode.PreconditionFailed => LookupWriteResult.Conflict,
            HttpStatusCode.NotFound => LookupWriteResult.NotFound,
            _ => throw Fail(response),
        };
    }

    public async Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (string.IsNullOrEmpty(version))
        {
            return await GetLookupAsync(key, cancellationToken).ConfigureAwait(false) is null
                ? MetadataWriteStatus.NotFound
                : MetadataWriteStatus.Conflict;
        }

        return await DeleteDocumentAsync("delete lookup", LookupDocumentId(key), version, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return 0;
        }

        // Whole milliseconds in the query (a superset: the stored value rounds down), the exact instant client-side;
        // no ORDER BY / TOP, which the test emulator lacks (see ListExpiredAsync).
        var query = new QueryDefinition($"SELECT * FROM c WHERE c.{LookupExpiresAtField} <= @now")
            .WithParameter("@now", now.ToUnixTimeMilliseconds());
        var due = new List<UploadLookup>();
        using (var feed = _container.GetItemQueryStreamIterator(query))
        {
            while (feed.HasMoreResults)
            {
                using var page = await SendAsync("lookup expiry query", () => feed.ReadNextAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
                if (!page.IsSuccessStatusCode)
                {
                    throw Fail(page);
                }

                using var json = await JsonDocument.ParseAsync(page.Content, cancellationToken: cancellationToken).ConfigureAwait(false);
                foreach (var item in json.RootElement.GetProperty("Documents").EnumerateArray())
                {
                    var etag = item.TryGetProperty("_etag", out var e) ? e.GetString() ?? "" : "";
                    if (ReadLookup(item, etag) is { ExpiresAt: { } expires } lookup && expires <= now)
                    {
                        due.Add(lookup);
                    }
                }
            }
        }

        var deleted = 0;
        foreach (var lookup in due.OrderBy(l => l.ExpiresAt).ThenBy(l => l.Key, StringComparer.Ordinal).Take(limit))
        {
            // Only the version that was due: an entry renewed meanwhile stays.
            if (await TryDeleteLookupAsync(lookup.Key, lookup.Version, cancellationToken).ConfigureAwait(false) == MetadataWriteStatus.Success)
            {
                deleted++;
            }
        }

        return deleted;
    }

    private static string LookupDocumentId(string key) =>
        UploadLookup.IsValidKey(key) ? LookupIdPrefix + key : throw new ArgumentException($"'{key}' is not a valid lookup key.", nameof(key));

    /// <summary>A retried write answered 409/412: if the stored entry is the one we wrote (same fresh upload id and instant), it landed.</summary>
    private async Task<LookupWriteResult> LookupLandedEarlierAsync(UploadLookup written, CancellationToken cancellationToken)
    {
        var current = await GetLookupAsync(written.Key, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return LookupWriteResult.NotFound;
        }

        return current with { Version = "" } == written with { Version = "" }
            ? LookupWriteResult.Success(current)
            : LookupWriteResult.Conflict;
    }

    private MemoryStream ToLookupDocument(UploadLookup lookup)
    {
        var document = new JsonObject
        {
            ["id"] = LookupDocumentId(lookup.Key),
            ["type"] = "lookup",
            ["key"] = lookup.Key,
            ["uploadId"] = lookup.UploadId,
            ["createdAt"] = lookup.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            ["updatedAt"] = lookup.UpdatedAt.ToString("O", CultureInfo.InvariantCulture),
        };
        if (lookup.ExpiresAt is { } expires)
        {
            document["expiresAt"] = expires.ToString("O", CultureInfo.InvariantCulture);
            document[LookupExpiresAtField] = expires.ToUnixTimeMilliseconds();
            document[TtlField] = TtlSeconds(expires, _time.GetUtcNow(), _options.TtlGrace);
        }

        var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            document.WriteTo(writer);
        }

        stream.Position = 0;
        return stream;
    }

    private static async Task<UploadLookup?> FromLookupDocumentAsync(Stream content, string etag, CancellationToken cancellationToken)
    {
        using var json = await JsonDocument.ParseAsync(content, cancellationToken: cancellationToken).ConfigureAwait(false);
        return ReadLookup(json.RootElement, etag);
    }

    private static UploadLookup? ReadLookup(JsonElement item, string etag)
    {
        if (!item.TryGetProperty("type", out var type) || type.GetString() != "lookup")
        {
            return null;
        }

        return new UploadLookup
        {
            Key = item.GetProperty("key").GetString()!,
            UploadId = item.GetProperty("uploadId").GetString()!,
            CreatedAt = ParseInstant(item.GetProperty("createdAt").GetString()!),
            UpdatedAt = ParseInstant(item.GetProperty("updatedAt").GetString()!),
            ExpiresAt = item.TryGetProperty("expiresAt", out var expires) && expires.ValueKind == JsonValueKind.String
                ? ParseInstant(expires.GetString()!)
                : null,
            Version = etag,
        };
    }

    private static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);
}
