using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// Lookups (<see cref="UploadLookup"/>) live in the same table as upload records, under <c>pk = lookup:{key}</c>, with
/// their fields as plain attributes and their own expiry partition ("lookup") in the index, so the upload expiry scan
/// never sees them. One table because a deployment provisions exactly one (and the IAM policy names one).
/// </summary>
public sealed partial class DynamoDbUploadMetadataStore
{
    private const string LookupPrefix = "lookup:";
    private const string LookupExpiryPartition = "lookup";

    public async Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        var version = NewVersion();
        var request = new PutItemRequest
        {
            TableName = _options.TableName,
            Item = ToLookupItem(lookup, version),
            ConditionExpression = "attribute_not_exists(#pk)",
            ExpressionAttributeNames = new() { ["#pk"] = PartitionKeyAttribute },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };
        try
        {
            await CallAsync(() => _client.PutItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return LookupWriteResult.Success(lookup with { Version = version });
        }
        catch (ConditionalCheckFailedException failed)
        {
            return Landed(failed.Item, version) ? LookupWriteResult.Success(lookup with { Version = version }) : LookupWriteResult.Conflict;
        }
    }

    public async Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        var item = await GetItemAsync(LookupItemKey(key), cancellationToken).ConfigureAwait(false);
        return item is null ? null : FromLookupItem(item);
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

        var version = NewVersion();
        var request = new PutItemRequest
        {
            TableName = _options.TableName,
            Item = ToLookupItem(lookup, version),
            ConditionExpression = "#ver = :expected",
            ExpressionAttributeNames = new() { ["#ver"] = VersionAttribute },
            ExpressionAttributeValues = new() { [":expected"] = new AttributeValue { S = lookup.Version } },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };
        try
        {
            await CallAsync(() => _client.PutItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            return LookupWriteResult.Success(lookup with { Version = version });
        }
        catch (ConditionalCheckFailedException failed)
        {
            return failed.Item is not { Count: > 0 } ? LookupWriteResult.NotFound
                : Landed(failed.Item, version) ? LookupWriteResult.Success(lookup with { Version = version })
                : LookupWriteResult.Conflict;
        }
    }

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(version);
        return DeleteItemAsync(LookupItemKey(key), version, cancellationToken);
    }

    public async Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return 0;
        }

        var deleted = 0;
        foreach (var key in await QueryDueAsync(LookupExpiryPartition, now, limit, cancellationToken).ConfigureAwait(false))
        {
            // Conditional on the item's current expiry, not on what the (eventually consistent) index said: an entry
            // renewed meanwhile stays. No read needed.
            var request = new DeleteItemRequest
            {
                TableName = _options.TableName,
                Key = KeyOf(key),
                ConditionExpression = "#exp <= :now",
                ExpressionAttributeNames = new() { ["#exp"] = ExpiryAttribute },
                ExpressionAttributeValues = new() { [":now"] = new AttributeValue { N = Number(now.UtcTicks) } },
            };
            try
            {
                await CallAsync(() => _client.DeleteItemAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                deleted++;
            }
            catch (ConditionalCheckFailedException)
            {
                // Renewed, or deleted by another instance.
            }
        }

        return deleted;
    }

    private static string LookupItemKey(string key) =>
        UploadLookup.IsValidKey(key) ? LookupPrefix + key : throw new ArgumentException($"'{key}' is not a valid lookup key.", nameof(key));

    private Dictionary<string, AttributeValue> ToLookupItem(UploadLookup lookup, string version)
    {
        var item = new Dictionary<string, AttributeValue>
        {
            [PartitionKeyAttribute] = new() { S = LookupItemKey(lookup.Key) },
            [VersionAttribute] = new() { S = version },
            ["key"] = new() { S = lookup.Key },
            ["uploadId"] = new() { S = lookup.UploadId },
            ["createdAt"] = new() { S = Instant(lookup.CreatedAt) },
            ["updatedAt"] = new() { S = Instant(lookup.UpdatedAt) },
        };
        if (lookup.ExpiresAt is { } expires)
        {
            item["expiresAt"] = new() { S = Instant(expires) };
        }

        AddExpiry(item, LookupExpiryPartition, lookup.ExpiresAt);
        return item;
    }

    private static UploadLookup FromLookupItem(Dictionary<string, AttributeValue> item) => new()
    {
        Key = item["key"].S,
        UploadId = item["uploadId"].S,
        CreatedAt = ParseInstant(item["createdAt"].S),
        UpdatedAt = ParseInstant(item["updatedAt"].S),
        ExpiresAt = item.TryGetValue("expiresAt", out var expires) ? ParseInstant(expires.S) : null,
        Version = item[VersionAttribute].S,
    };

    private static string Instant(DateTimeOffset value) => value.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);
}
