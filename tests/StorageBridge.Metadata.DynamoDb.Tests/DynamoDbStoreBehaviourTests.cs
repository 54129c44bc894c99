using System.Globalization;
using System.Security.Cryptography;
using Amazon.DynamoDBv2.Model;
using StorageBridge.Backends;
using StorageBridge.Uploads;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>What the store writes into the table (keys, sparse index attributes, TTL) and how it handles large records.</summary>
[Collection(MotoCollection.Name)]
public sealed class DynamoDbStoreBehaviourTests(MotoFixture moto, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly DateTimeOffset Expires = new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.FromHours(2)).AddTicks(1_234_567);
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private DynamoDbUploadMetadataStore _store = null!;
    private string _table = "";

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        var options = moto.Options();
        _table = options.TableName;
        _store = new DynamoDbUploadMetadataStore(options);
        await _store.InitializeAsync(Ct);
    }

    public Task DisposeAsync()
    {
        _store.Dispose();
        _timeout.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task An_expiring_record_is_one_item_with_version_document_index_keys_and_ttl()
    {
        var record = new UploadRecord { Id = UploadIds.New(), Target = "t", ObjectKey = "k", Length = 10, ExpiresAt = Expires };

        var created = (await _store.CreateAsync(record, Ct)).Record!;

        var item = await RawItemAsync("upload:" + record.Id);
        Assert.Equal(created.Version, item["ver"].S);
        Assert.Equal(UploadRecordJson.Serialize(record), item["doc"].S);
        Assert.Equal("upload", item["xp"].S);
        Assert.Equal(Expires.UtcTicks.ToString(CultureInfo.InvariantCulture), item["exp"].N);

        // Expiry plus the default grace of 1 h, in epoch seconds rounded up (the instant has sub-second ticks).
        Assert.Equal((Expires.AddHours(1).ToUnixTimeSeconds() + 1).ToString(CultureInfo.InvariantCulture), item["ttl"].N);
        Assert.Equal(new HashSet<string> { "pk", "ver", "doc", "xp", "exp", "ttl" }, item.Keys.ToHashSet());
    }

    [Fact]
    public async Task A_record_without_expiry_stays_out_of_the_index_and_has_no_ttl()
    {
        var record = new UploadRecord { Id = UploadIds.New(), Target = "t", ObjectKey = "k", ExpiresAt = Expires };
        var created = (await _store.CreateAsync(record, Ct)).Record!;

        // Completing an upload clears its expiry: the replace must drop the index keys and the TTL, not keep stale ones.
        var replaced = (await _store.TryReplaceAsync(created with { ExpiresAt = null, State = UploadState.Completed }, Ct)).Record!;

        var item = await RawItemAsync("upload:" + record.Id);
        Assert.Equal(new HashSet<string> { "pk", "ver", "doc" }, item.Keys.ToHashSet());
        Assert.Equal(replaced.Version, item["ver"].S);
        Assert.NotEqual(created.Version, replaced.Version);
        Assert.Empty(await ToListAsync(_store.ListExpiredAsync(DateTimeOffset.MaxValue, 10, Ct)));
    }

    [Fact]
    public async Task A_lookup_is_an_item_of_its_own_in_the_lookup_partition_of_the_index()
    {
        var lookup = new UploadLookup { Key = "res:abc.def", UploadId = UploadIds.New(), CreatedAt = Expires, UpdatedAt = Expires, ExpiresAt = Expires };

        var added = (await _store.TryAddLookupAsync(lookup, Ct)).Lookup!;

        var item = await RawItemAsync("lookup:res:abc.def");
        Assert.Equal(added.Version, item["ver"].S);
        Assert.Equal("lookup", item["xp"].S);
        Assert.Equal(lookup.UploadId, item["uploadId"].S);
        Assert.Empty(await ToListAsync(_store.ListExpiredAsync(DateTimeOffset.MaxValue, 10, Ct))); // not an upload
    }

    [Fact]
    public async Task The_table_created_at_start_up_has_ttl_on_the_ttl_attribute()
    {
        using var client = moto.CreateClient();
        var ttl = await client.DescribeTimeToLiveAsync(new DescribeTimeToLiveRequest { TableName = _table }, Ct);

        Assert.Equal("ENABLED", ttl.TimeToLiveDescription.TimeToLiveStatus.Value);
        Assert.Equal(DynamoDbUploadMetadataStore.TtlAttribute, ttl.TimeToLiveDescription.AttributeName);
        var table = (await client.DescribeTableAsync(_table, Ct)).Table;
        Assert.Equal("PAY_PER_REQUEST", table.BillingModeSummary?.BillingMode?.Value ?? "PAY_PER_REQUEST");
        Assert.Equal(
            [DynamoDbUploadMetadataStore.EventsIndexName, DynamoDbUploadMetadataStore.ExpiryIndexName],
            table.GlobalSecondaryIndexes.Select(i => i.IndexName).Order(StringComparer.Ordinal));
        Assert.All(table.GlobalSecondaryIndexes, index => Assert.Equal("KEYS_ONLY", index.Projection.ProjectionType.Value));
    }

    [Fact]
    public async Task A_pending_completion_event_puts_the_item_in_the_sparse_events_index_until_it_is_delivered()
    {
        var due = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(3)).AddTicks(17);
        var record = StorageBridge.Tests.Conformance.MetadataStoreConformanceTests.WithOutbox(
            new UploadRecord { Id = UploadIds.New(), Target = "t", ObjectKey = "k", CreatedAt = due, UpdatedAt = due }, due);
        var created = (await _store.CreateAsync(record, Ct)).Record!;

        var item = await RawItemAsync("upload:" + record.Id);
        Assert.Equal("due", item[DynamoDbUploadMetadataStore.EventsPartitionAttribute].S);
        Assert.Equal(due.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture), item[DynamoDbUploadMetadataStore.EventsDueAttribute].N);
        Assert.Equal(record.Id, Assert.Single(await ToListAsync(_store.ListDueEventsAsync(due, 10, Ct))).Id);
        Assert.Empty(await ToListAsync(_store.ListDueEventsAsync(due.AddTicks(-1), 10, Ct)));

        var finished = created.Outbox! with
        {
            Deliveries = [.. created.Outbox!.Deliveries.Select(d => d with { Status = StorageBridge.Events.EventDeliveryStatus.Delivered })],
        };
        await _store.TryReplaceAsync(created with { Outbox = finished }, Ct);

        item = await RawItemAsync("upload:" + record.Id);
        Assert.False(item.ContainsKey(DynamoDbUploadMetadataStore.EventsPartitionAttribute));
        Assert.False(item.ContainsKey(DynamoDbUploadMetadataStore.EventsDueAttribute));
        Assert.Empty(await ToListAsync(_store.ListDueEventsAsync(DateTimeOffset.MaxValue, 10, Ct)));
    }

    [Theory]
    [InlineData(10_000, false)] // S3's most parts with ETag and offsets (no part checksums)
    [InlineData(5_000, true)] // S3 parts as the S3 backend records them (ETag and SHA-256 checksum each): the documented safe count
    public async Task A_record_with_thousands_of_parts_is_compressed_and_round_trips(int parts, bool checksums)
    {
        var record = WithParts(parts, checksums);
        var json = UploadRecordJson.Serialize(record);

        var created = (await _store.CreateAsync(record, Ct)).Record!;

        var item = await RawItemAsync("upload:" + record.Id);
        Assert.False(item.ContainsKey("doc"));
        var stored = item["docz"].B.Length;
        output.WriteLine($"{parts} parts, checksums {checksums}: JSON {json.Length} bytes, stored {stored} bytes (gzip)");
        Assert.True(stored <= DynamoDbUploadMetadataStore.MaxDocumentBytes);
        var read = await _store.GetAsync(record.Id, Ct);
        Assert.Equal(json, UploadRecordJson.Serialize(read!));
        Assert.Equal(created.Version, read!.Version);
    }

    [Fact]
    public async Task Ten_thousand_s3_parts_with_checksums_do_not_fit_and_are_refused_naming_the_way_out()
    {
        // 48 random bytes per part (MD5 ETag, SHA-256 checksum) cannot compress below ~480 KB: more than an item holds.
        var record = WithParts(10_000, checksums: true);

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => _store.CreateAsync(record, Ct));

        output.WriteLine(error.InnerException!.Message);
        Assert.False(error.IsTransient);
        Assert.Equal("ItemTooLarge", error.ErrorCode);
        Assert.Contains("10000 parts", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.Contains("MaxParts", error.InnerException.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_too_large_for_an_item_is_refused_clearly_and_nothing_is_written()
    {
        // Random metadata does not compress: about 600 KB of it cannot fit in a 400 KB item.
        var record = new UploadRecord
        {
            Id = UploadIds.New(),
            Target = "t",
            ObjectKey = "k",
            Metadata = Enumerable.Range(0, 200).ToDictionary(i => "m" + i, _ => Convert.ToBase64String(RandomNumberGenerator.GetBytes(2_250))),
        };

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => _store.CreateAsync(record, Ct));

        Assert.False(error.IsTransient);
        Assert.Equal("ItemTooLarge", error.ErrorCode);
        Assert.Contains("400 KB", error.InnerException!.Message, StringComparison.Ordinal);
        Assert.Null(await _store.GetAsync(record.Id, Ct));
    }

    private static UploadRecord WithParts(int count, bool checksums)
    {
        const long partSize = 5L * 1024 * 1024;
        var parts = Enumerable.Range(1, count).Select(n => new PartRecord(
            n,
            (n - 1) * partSize,
            partSize,
            "\"" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "\"",
            checksums ? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) : null)).ToList();
        return new UploadRecord
        {
            Id = UploadIds.New(),
            Target = "s3",
            ObjectKey = "big/object.bin",
            Length = count * partSize,
            Offset = count * partSize,
            Session = "2~" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)),
            Parts = parts,
            ExpiresAt = Expires,
        };
    }

    private async Task<Dictionary<string, AttributeValue>> RawItemAsync(string key)
    {
        using var client = moto.CreateClient();
        var response = await client.GetItemAsync(new GetItemRequest
        {
            TableName = _table,
            Key = new() { ["pk"] = new AttributeValue { S = key } },
            ConsistentRead = true,
        }, Ct);
        Assert.True(response.Item is { Count: > 0 }, $"no item {key}");
        return response.Item;
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
