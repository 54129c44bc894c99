using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using StorageBridge.Backends;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// The item operations every record and lookup call is made of, and the failure classification: every SDK call goes
/// through <see cref="CallAsync{T}"/>, which turns DynamoDB errors into <see cref="StorageBackendException"/> saying
/// whether they are transient (throttling, 5xx, dropped connections: the front-ends answer 503) or not (missing
/// table, access denied, bad credentials: 502). The SDK itself retries throttling and 5xx first (standard mode).
/// </summary>
public sealed partial class DynamoDbUploadMetadataStore
{
    /// <summary>DynamoDB error codes that say "try again later" even though DynamoDB answers them with 400.</summary>
    private static readonly HashSet<string> TransientErrorCodes = new(StringComparer.Ordinal)
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "TransactionConflictException",
        "InternalServerError",
        "ServiceUnavailable",
    };

    private const int BatchGetLimit = 100;

    /// <summary>The item under <paramref name="key"/> (a strongly consistent read), or null.</summary>
    private async Task<Dictionary<string, AttributeValue>?> GetItemAsync(string key, CancellationToken cancellationToken)
    {
        var request = new GetItemRequest
        {
            TableName = _options.TableName,
            Key = KeyOf(key),
            ConsistentRead = true,
        };
        var response = await CallAsync(() => _client.GetItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
        return response.Item is { Count: > 0 } item ? item : null;
    }

    /// <summary>Deletes the item under <paramref name="key"/> if its version still equals <paramref name="version"/>.</summary>
    private async Task<MetadataWriteStatus> DeleteItemAsync(string key, string version, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(version))
        {
            return await GetItemAsync(key, cancellationToken).ConfigureAwait(false) is null
                ? MetadataWriteStatus.NotFound
                : MetadataWriteStatus.Conflict;
        }

        var request = new DeleteItemRequest
        {
            TableName = _options.TableName,
            Key = KeyOf(key),
            ConditionExpression = "#ver = :expected",
            ExpressionAttributeNames = new() { ["#ver"] = VersionAttribute },
            ExpressionAttributeValues = new() { [":expected"] = new AttributeValue { S = version } },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };
        try
        {
            await CallAsync(() => _client.DeleteItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return MetadataWriteStatus.Success;
        }
        catch (ConditionalCheckFailedException failed)
        {
            // A delete the SDK retried after its answer was lost finds nothing: reported as not found, as the item is gone.
            return failed.Item is { Count: > 0 } ? MetadataWriteStatus.Conflict : MetadataWriteStatus.NotFound;
        }
    }

    /// <summary>
    /// Keys of up to <paramref name="limit"/> items of one expiry partition due at <paramref name="now"/>, oldest first:
    /// a Query on the sparse index (exact to the tick), so the cost follows the limit, not the table or the backlog.
    /// </summary>
    private Task<List<string>> QueryDueAsync(string partition, DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        QueryIndexDueAsync(ExpiryIndexName, ExpiryPartitionAttribute, ExpiryAttribute, partition, now, limit, cancellationToken);

    /// <summary>Keys of up to <paramref name="limit"/> items of one partition of a sparse index whose sort key (ticks) is at or before <paramref name="now"/>.</summary>
    private async Task<List<string>> QueryIndexDueAsync(
        string indexName, string partitionAttribute, string sortAttribute, string partition, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var request = new QueryRequest
            {
                TableName = _options.TableName,
                IndexName = indexName,
                KeyConditionExpression = "#xp = :partition AND #exp <= :now",
                ExpressionAttributeNames = new() { ["#xp"] = partitionAttribute, ["#exp"] = sortAttribute },
                ExpressionAttributeValues = new()
                {
                    [":partition"] = new AttributeValue { S = partition },
                    [":now"] = new AttributeValue { N = Number(now.UtcTicks) },
                },
                ScanIndexForward = true,
                Limit = limit - keys.Count,
                ExclusiveStartKey = start,
            };
            var page = await CallAsync(() => _client.QueryAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items ?? [])
            {
                keys.Add(item[PartitionKeyAttribute].S);
            }

            start = page.LastEvaluatedKey is { Count: > 0 } next ? next : null;
        }
        while (start is not null && keys.Count < limit);

        return keys;
    }

    /// <summary>The items under <paramref name="keys"/> that exist (strongly consistent reads, 100 per request), in no particular order.</summary>
    private async Task<List<Dictionary<string, AttributeValue>>> BatchGetAsync(List<string> keys, CancellationToken cancellationToken)
    {
        var items = new List<Dictionary<string, AttributeValue>>(keys.Count);
        foreach (var chunk in keys.Distinct(StringComparer.Ordinal).Chunk(BatchGetLimit))
        {
            var pending = new KeysAndAttributes { Keys = [.. chunk.Select(KeyOf)], ConsistentRead = true };
            for (var attempt = 0; pending.Keys is { Count: > 0 }; attempt++)
            {
                var request = new BatchGetItemRequest { RequestItems = new() { [_options.TableName] = pending } };
                var response = await CallAsync(() => _client.BatchGetItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                if (response.Responses?.GetValueOrDefault(_options.TableName) is { } found)
                {
                    items.AddRange(found);
                }

                if (response.UnprocessedKeys?.GetValueOrDefault(_options.TableName) is not { Keys.Count: > 0 } unprocessed)
                {
                    break;
                }

                // Unprocessed keys are DynamoDB's throttling answer for batches: back off, then ask for the rest.
                var delay = TimeSpan.FromMilliseconds(Math.Min(2_000, 50 << Math.Min(attempt, 6)));
                Log.RetryingUnprocessed(_logger, unprocessed.Keys.Count, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                pending = unprocessed;
            }
        }

        return items;
    }

    private static Dictionary<string, AttributeValue> KeyOf(string key) =>
        new() { [PartitionKeyAttribute] = new AttributeValue { S = key } };

    /// <summary>Runs one SDK call, classifying its failures; a failed condition keeps its type (callers decide what it means).</summary>
    private async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not ConditionalCheckFailedException && Classify(ex, cancellationToken) is { } failure)
        {
            throw failure;
        }
    }

    /// <summary>The storage exception for a DynamoDB failure, or null for exceptions that keep their type (cancellation, bugs).</summary>
    internal StorageBackendException? Classify(Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            StorageBackendException => null,
            AmazonServiceException service when service.StatusCode != 0 || service.ErrorCode is not null => new StorageBackendException(
                _backend,
                (service.ErrorCode is { } code && TransientErrorCodes.Contains(code)) || StorageBackendException.IsTransientStatus((int)service.StatusCode),
                service.StatusCode == 0 ? null : (int)service.StatusCode,
                service.ErrorCode,
                service),
            // The SDK's own timeout surfaces as a cancellation nobody asked for.
            OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                new StorageBackendException(_backend, isTransient: true, null, "Timeout", exception),
            _ when IsNetworkFailure(exception) => new StorageBackendException(_backend, isTransient: true, null, null, exception),
            _ => null,
        };
    }

    /// <summary>Network trouble, also when the SDK wrapped it (AmazonServiceException/AmazonClientException around an HttpRequestException).</summary>
    private static bool IsNetworkFailure(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (StorageBackendException.IsNetworkFailure(current))
            {
                return true;
            }
        }

        return false;
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.DynamoDb.Ready, LogLevel.Information, "DynamoDB metadata store ready: table {Table} at {Endpoint}")]
        public static partial void Ready(ILogger logger, string table, string endpoint);

        [LoggerMessage(Diagnostics.EventIds.DynamoDb.TableCreated, LogLevel.Information, "Created DynamoDB table {Table} (on-demand capacity, index {Index}, time to live on {TtlAttribute})")]
        public static partial void TableCreated(ILogger logger, string table, string index, string ttlAttribute);

        [LoggerMessage(Diagnostics.EventIds.DynamoDb.TtlOff, LogLevel.Warning, "Time to live on DynamoDB table {Table} is {Status} (attribute {Attribute}): forgotten records leave only through the expiry sweep (enable TTL on attribute {TtlAttribute})")]
        public static partial void TtlOff(ILogger logger, string table, string status, string attribute, string ttlAttribute);

        [LoggerMessage(Diagnostics.EventIds.DynamoDb.RetryingUnprocessed, LogLevel.Warning, "DynamoDB left {Count} keys of a batch read unprocessed (throttling); retrying in {DelayMs} ms")]
        public static partial void RetryingUnprocessed(ILogger logger, int count, long delayMs);
    }

    private static string Describe(IAmazonDynamoDB client) =>
        client.Config.ServiceURL ?? client.Config.RegionEndpoint?.SystemName ?? "the default region";
}
