using System.Runtime.CompilerServices;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// Upload records in one DynamoDB table: one item per upload under <c>pk = upload:{id}</c> holding the shared record
/// document (<see cref="UploadRecordJson"/>, gzip-compressed when large) and a version attribute <c>ver</c> that every
/// write replaces with a fresh random value. Replaces and deletes are conditional on <c>ver</c> (ConditionExpression),
/// which is what makes several instances safe without a lock server.
/// </summary>
/// <remarks>
/// Expiring items also carry <c>xp</c> (the index partition: "upload" or "lookup") and <c>exp</c> (the expiry in UTC
/// ticks, exact to the tick), the keys of the sparse global secondary index <c>expiry</c>: the expiry scan is a
/// Query on it, oldest first, touching only due items; items without an expiry are not in the index at all. The
/// index is eventually consistent, so every candidate is re-read from the table before it is returned. <c>ttl</c>
/// (epoch seconds, expiry plus <see cref="DynamoDbMetadataOptions.TtlGrace"/>) lets DynamoDB delete what no
/// instance cleans up.
/// </remarks>
public sealed partial class DynamoDbUploadMetadataStore : IUploadMetadataStore, IDisposable
{
    /// <summary>The table's partition key (string); the table has no sort key.</summary>
    public const string PartitionKeyAttribute = "pk";

    /// <summary>The sparse global secondary index the expiry scans query (partition <c>xp</c>, sort <c>exp</c>, keys only).</summary>
    public const string ExpiryIndexName = "expiry";

    public const string ExpiryPartitionAttribute = "xp";

    public const string ExpiryAttribute = "exp";

    /// <summary>The TTL attribute (epoch seconds) the table's time to live must be set to.</summary>
    public const string TtlAttribute = "ttl";

    /// <summary>Documents larger than this are stored gzip-compressed (binary <c>docz</c> instead of string <c>doc</c>).</summary>
    public const int CompressAboveBytes = 16 * 1024;

    /// <summary>
    /// Largest stored document (after compression) the store writes: DynamoDB items hold at most 400 KB including
    /// attribute names and the other attributes, which take well under 1 KB.
    /// </summary>
    public const int MaxDocumentBytes = 390 * 1024;

    private const string VersionAttribute = "ver";
    private const string DocumentAttribute = "doc";
    private const string CompressedDocumentAttribute = "docz";
    private const string UploadPrefix = "upload:";
    private const string UploadExpiryPartition = "upload";

    private readonly DynamoDbMetadataOptions _options;
    private readonly IAmazonDynamoDB _client;
    private readonly bool _ownsClient;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _backend;

    /// <summary>A store on a client the application owns (not disposed here); ServiceUrl, Region and keys are the client's business then.</summary>
    public DynamoDbUploadMetadataStore(IAmazonDynamoDB client, DynamoDbMetadataOptions options, TimeProvider? timeProvider = null, ILogger<DynamoDbUploadMetadataStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        _client = client;
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<DynamoDbUploadMetadataStore>.Instance;
        _backend = $"DynamoDB table {options.TableName}";
    }

    public DynamoDbUploadMetadataStore(DynamoDbMetadataOptions options, TimeProvider? timeProvider = null, ILogger<DynamoDbUploadMetadataStore>? logger = null)
        : this(CreateClient(options), options, timeProvider, logger)
    {
        _ownsClient = true;
    }

    /// <summary>The SDK client the options describe (the store's own when no client is given).</summary>
    public static AmazonDynamoDBClient CreateClient(DynamoDbMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonDynamoDBConfig();
        if (options.ServiceUrl is not null)
        {
            config.ServiceURL = options.ServiceUrl.AbsoluteUri;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (!string.IsNullOrWhiteSpace(options.Region))
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        options.ConfigureClient?.Invoke(config);
        return options.AccessKey is { Length: > 0 }
            ? new AmazonDynamoDBClient(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonDynamoDBClient(config);
    }

    public async Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var version = NewVersion();
        var item = ToItem(record, version);
        var request = new PutItemRequest
        {
            TableName = _options.TableName,
            Item = item,
            ConditionExpression = "attribute_not_exists(#pk)",
            ExpressionAttributeNames = new() { ["#pk"] = PartitionKeyAttribute },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };
        try
        {
            await CallAsync(() => _client.PutItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return MetadataWriteResult.Success(record with { Version = version });
        }
        catch (ConditionalCheckFailedException failed)
        {
            // The SDK retries a put whose answer was lost; the retry then finds our own item (its fresh version).
            return Landed(failed.Item, version) ? MetadataWriteResult.Success(record with { Version = version }) : MetadataWriteResult.Conflict;
        }
    }

    public async Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        var item = await GetItemAsync(UploadPrefix + id, cancellationToken).ConfigureAwait(false);
        return item is null ? null : FromItem(item);
    }

    public async Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (string.IsNullOrEmpty(record.Version))
        {
            // A version this store never issues; the answer only says whether the record exists.
            return await GetAsync(record.Id, cancellationToken).ConfigureAwait(false) is null
                ? MetadataWriteResult.NotFound
                : MetadataWriteResult.Conflict;
        }

        var version = NewVersion();
        var request = new PutItemRequest
        {
            TableName = _options.TableName,
            Item = ToItem(record, version),
            ConditionExpression = "#ver = :expected",
            ExpressionAttributeNames = new() { ["#ver"] = VersionAttribute },
            ExpressionAttributeValues = new() { [":expected"] = new AttributeValue { S = record.Version } },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };
        try
        {
            await CallAsync(() => _client.PutItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return MetadataWriteResult.Success(record with { Version = version });
        }
        catch (ConditionalCheckFailedException failed)
        {
            // No item: never created or deleted (a put without the condition would have resurrected it).
            return failed.Item is not { Count: > 0 } ? MetadataWriteResult.NotFound
                : Landed(failed.Item, version) ? MetadataWriteResult.Success(record with { Version = version })
                : MetadataWriteResult.Conflict;
        }
    }

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(version);
        return DeleteItemAsync(UploadPrefix + id, version, cancellationToken);
    }

    public async IAsyncEnumerable<UploadRecord> ListExpiredAsync(
        DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        var keys = await QueryDueAsync(UploadExpiryPartition, now, limit, cancellationToken).ConfigureAwait(false);

        // The index may lag the table: the records as they are now, still due, in expiry order.
        var records = new List<UploadRecord>(keys.Count);
        foreach (var item in await BatchGetAsync(keys, cancellationToken).ConfigureAwait(false))
        {
            if (FromItem(item) is { ExpiresAt: { } expires } record && expires <= now)
            {
                records.Add(record);
            }
        }

        foreach (var record in records.OrderBy(r => r.ExpiresAt).ThenBy(r => r.Id, StringComparer.Ordinal).Take(limit))
        {
            yield return record;
        }
    }

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private static string NewVersion() => Guid.NewGuid().ToString("N");

    /// <summary>Whether the item a failed condition found is the one this write put there (same fresh version).</summary>
    private static bool Landed(Dictionary<string, AttributeValue>? current, string version) =>
        current is not null && current.TryGetValue(VersionAttribute, out var stored) && stored.S == version;

    private Dictionary<string, AttributeValue> ToItem(UploadRecord record, string version)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [PartitionKeyAttribute] = new() { S = UploadPrefix + record.Id },
            [VersionAttribute] = new() { S = version },
        };
        var json = UploadRecordJson.Serialize(record);
        if (RecordDocument.Encode(json) is { } compressed)
        {
            if (compressed.Length > MaxDocumentBytes)
            {
                throw TooLarge(record, json.Length, compressed.Length);
            }

            item[CompressedDocumentAttribute] = new() { B = new MemoryStream(compressed, writable: false) };
        }
        else
        {
            item[DocumentAttribute] = new() { S = json };
        }

        AddExpiry(item, UploadExpiryPartition, record.ExpiresAt);
        AddEventsDue(item, record.EventsDueAt);
        return item;
    }

    private static UploadRecord FromItem(Dictionary<string, AttributeValue> item)
    {
        var json = item.TryGetValue(CompressedDocumentAttribute, out var compressed) && compressed.B is { } bytes
            ? RecordDocument.Decode(bytes)
            : item[DocumentAttribute].S;
        return UploadRecordJson.Deserialize(json, item[VersionAttribute].S);
    }

    /// <summary>The sparse index keys and the TTL of an expiring item; nothing for one that never expires.</summary>
    private void AddExpiry(Dictionary<string, AttributeValue> item, string partition, DateTimeOffset? expiresAt)
    {
        if (expiresAt is not { } expires)
        {
            return;
        }

        item[ExpiryPartitionAttribute] = new() { S = partition };
        item[ExpiryAttribute] = new() { N = Number(expires.UtcTicks) };
        item[TtlAttribute] = new() { N = Number(TtlEpochSeconds(expires, _options.TtlGrace)) };
    }

    /// <summary>The item's TTL: the expiry plus the grace, in whole epoch seconds rounded up.</summary>
    public static long TtlEpochSeconds(DateTimeOffset expiresAt, TimeSpan grace)
    {
        var at = expiresAt + (grace < TimeSpan.Zero ? TimeSpan.Zero : grace);
        var seconds = at.ToUnixTimeSeconds();
        return at.UtcTicks % TimeSpan.TicksPerSecond == 0 ? seconds : seconds + 1;
    }

    private static string Number(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private StorageBackendException TooLarge(UploadRecord record, int jsonBytes, int storedBytes) =>
        new(
            _backend,
            isTransient: false,
            statusCode: null,
            errorCode: "ItemTooLarge",
            new InvalidOperationException(
                $"Upload {record.Id}: its record is {jsonBytes} bytes of JSON ({storedBytes} compressed, {record.Parts.Count} parts); " +
                $"DynamoDB items hold at most 400 KB, so this store refuses records above {MaxDocumentBytes} bytes. " +
                $"Limit the parts per upload (an S3 target's MaxParts, e.g. {SafeS3Parts}: larger parts then) or use another metadata store."));

    /// <summary>S3 parts (MD5 ETag and SHA-256 checksum each, ~50 bytes after compression) that surely fit in one item (docs/metadata-stores.md).</summary>
    internal const int SafeS3Parts = 5_000;
}
