using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// Faults on the wire of the store's own SDK client (lost answers, throttling, access denied): the SDK's retries run
/// unchanged, and the store turns what is left into the right outcome.
/// </summary>
[Collection(MotoCollection.Name)]
public sealed class DynamoDbFaultTests(MotoFixture moto) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly DynamoDbFaultInjector _faults = new();
    private readonly List<DynamoDbUploadMetadataStore> _stores = [];

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        _timeout.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_create_whose_answer_was_lost_is_reported_as_the_success_it_was()
    {
        var store = await OpenAsync();
        var record = Record();
        _faults.Set(DynamoDbFault.ResetAfter, "PutItem", times: 1);

        var result = await store.CreateAsync(record, Ct);

        Assert.Equal(1, _faults.Injected);
        Assert.Equal(2, _faults.Calls("PutItem")); // the SDK sent it again and found its own item
        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal(result.Record!.Version, (await store.GetAsync(record.Id, Ct))!.Version);
    }

    [Fact]
    public async Task A_replace_whose_answer_was_lost_is_a_success_not_a_phantom_conflict()
    {
        var store = await OpenAsync();
        var created = (await store.CreateAsync(Record(), Ct)).Record!;
        _faults.Set(DynamoDbFault.ResetAfter, "PutItem", times: 1);

        var result = await store.TryReplaceAsync(created with { Offset = 42 }, Ct);

        Assert.Equal(1, _faults.Injected);
        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(42, read!.Offset);
        Assert.Equal(result.Record!.Version, read.Version);

        // ... while a real competitor's write is still a conflict.
        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceAsync(created with { Offset = 7 }, Ct)).Status);
    }

    [Fact]
    public async Task A_lookup_add_whose_answer_was_lost_is_a_success()
    {
        var store = await OpenAsync();
        var lookup = new UploadLookup { Key = "k-" + Guid.NewGuid().ToString("N"), UploadId = UploadIds.New(), CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };
        _faults.Set(DynamoDbFault.ResetAfter, "PutItem", times: 1);

        var result = await store.TryAddLookupAsync(lookup, Ct);

        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal(result.Lookup!.Version, (await store.GetLookupAsync(lookup.Key, Ct))!.Version);
    }

    [Fact]
    public async Task Throttling_the_sdk_retries_through_succeeds()
    {
        var store = await OpenAsync();
        _faults.Set(DynamoDbFault.Throttle, "PutItem", times: 1);

        var result = await store.CreateAsync(Record(), Ct);

        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal(2, _faults.Calls("PutItem"));
    }

    [Fact]
    public async Task Throttling_that_outlasts_the_sdk_retries_is_a_transient_failure()
    {
        var store = await OpenAsync(maxErrorRetry: 1);
        _faults.Set(DynamoDbFault.Throttle, "PutItem");

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => store.CreateAsync(Record(), Ct));

        Assert.True(error.IsTransient);
        Assert.Equal("ProvisionedThroughputExceededException", error.ErrorCode);
        Assert.Equal(400, error.StatusCode);
        Assert.Equal(2, _faults.Calls("PutItem")); // one try and the one retry allowed
    }

    [Fact]
    public async Task Throttled_reads_and_expiry_queries_are_transient_too()
    {
        var store = await OpenAsync(maxErrorRetry: 0);
        _faults.Set(DynamoDbFault.Throttle, "GetItem");
        Assert.True((await Assert.ThrowsAsync<StorageBackendException>(() => store.GetAsync(UploadIds.New(), Ct))).IsTransient);

        _faults.Set(DynamoDbFault.Throttle, "Query");
        var error = await Assert.ThrowsAsync<StorageBackendException>(async () =>
        {
            await foreach (var _ in store.ListExpiredAsync(DateTimeOffset.UtcNow, 10, Ct))
            {
            }
        });
        Assert.True(error.IsTransient);
    }

    [Fact]
    public async Task Access_denied_is_permanent_and_not_retried()
    {
        var store = await OpenAsync();
        _faults.Set(DynamoDbFault.AccessDenied, "DeleteItem");

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => store.TryDeleteAsync(UploadIds.New(), "v", Ct));

        Assert.False(error.IsTransient);
        Assert.Equal("AccessDeniedException", error.ErrorCode);
        Assert.Equal(1, _faults.Calls("DeleteItem"));
    }

    [Fact]
    public async Task Dropped_connections_past_the_retries_are_transient()
    {
        var store = await OpenAsync(maxErrorRetry: 0);
        _faults.Set(DynamoDbFault.ResetAfter, "GetItem");

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => store.GetAsync(UploadIds.New(), Ct));

        Assert.True(error.IsTransient);
    }

    private static UploadRecord Record() => new() { Id = UploadIds.New(), Target = "t", ObjectKey = "k", ExpiresAt = DateTimeOffset.UtcNow.AddHours(1) };

    private async Task<DynamoDbUploadMetadataStore> OpenAsync(int? maxErrorRetry = null)
    {
        var store = new DynamoDbUploadMetadataStore(moto.Options(httpClientFactory: _faults, maxErrorRetry: maxErrorRetry));
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }
}
