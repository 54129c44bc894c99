using StorageBridge.Metadata;
using StorageBridge.Uploads;
using Xunit;

namespace StorageBridge.Tests.Conformance;

/// <summary>Lookups (<see cref="UploadLookup"/>): an index from a key to an upload id, apart from upload records.</summary>
public abstract partial class MetadataStoreConformanceTests
{
    [Fact]
    public async Task Lookup_add_then_get_round_trips_every_field()
    {
        var store = await CreateStoreAsync();
        var lookup = NewLookup("rjs-" + UploadIds.New(), T0.AddHours(6).ToOffset(TimeSpan.FromMinutes(330)));

        var added = await store.TryAddLookupAsync(lookup, Ct);

        Assert.Equal(MetadataWriteStatus.Success, added.Status);
        Assert.False(string.IsNullOrEmpty(added.Lookup!.Version));
        Assert.Equal(lookup with { Version = added.Lookup.Version }, added.Lookup);
        var read = await store.GetLookupAsync(lookup.Key, Ct);
        Assert.Equal(added.Lookup, read);
        Assert.Equal(TimeSpan.FromMinutes(330), read!.ExpiresAt!.Value.Offset);
        Assert.Equal(T0.AddHours(6).UtcTicks, read.ExpiresAt.Value.UtcTicks);
        Assert.Equal(TimeSpan.FromHours(-7), read.UpdatedAt.Offset);
        Assert.Equal(T0.Ticks, read.CreatedAt.Ticks);
        Assert.Equal(T0.Offset, read.CreatedAt.Offset);

        var forever = NewLookup("rjs-" + UploadIds.New(), expiresAt: null);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryAddLookupAsync(forever, Ct)).Status);
        Assert.Null((await store.GetLookupAsync(forever.Key, Ct))!.ExpiresAt);
    }

    [Fact]
    public async Task Lookup_operations_on_a_missing_key_report_not_found()
    {
        var store = await CreateStoreAsync();
        var key = "rjs-" + UploadIds.New();

        Assert.Null(await store.GetLookupAsync(key, Ct));
        Assert.Equal(MetadataWriteStatus.NotFound, (await store.TryReplaceLookupAsync(NewLookup(key) with { Version = "1" }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.NotFound, await store.TryDeleteLookupAsync(key, "1", Ct));
    }

    [Fact]
    public async Task Lookup_add_on_an_existing_key_conflicts_and_keeps_the_first_even_when_expired()
    {
        var store = await CreateStoreAsync();
        var first = NewLookup("rjs-" + UploadIds.New(), T0.AddMinutes(-1));
        var added = (await store.TryAddLookupAsync(first, Ct)).Lookup!;

        var second = await store.TryAddLookupAsync(NewLookup(first.Key, T0.AddHours(1)), Ct);

        Assert.Equal(MetadataWriteStatus.Conflict, second.Status);
        Assert.Null(second.Lookup);
        Assert.Equal(added, await store.GetLookupAsync(first.Key, Ct));
    }

    [Fact]
    public async Task Lookup_racing_adds_across_two_instances_exactly_one_wins()
    {
        var first = await CreateStoreAsync();
        var second = await CreateSecondInstanceAsync();

        for (var round = 0; round < 5; round++)
        {
            var key = "rjs-" + UploadIds.New();
            var candidates = Enumerable.Range(0, 8).Select(_ => NewLookup(key)).ToArray();

            var results = await RaceAsync(8, i => (i % 2 == 0 ? first : second).TryAddLookupAsync(candidates[i], Ct));

            var winner = Assert.Single(results, r => r.Status == MetadataWriteStatus.Success);
            Assert.Equal(7, results.Count(r => r.Status == MetadataWriteStatus.Conflict));
            Assert.Equal(winner.Lookup, await first.GetLookupAsync(key, Ct));
            Assert.Equal(winner.Lookup!.UploadId, (await second.GetLookupAsync(key, Ct))!.UploadId);
        }
    }

    [Fact]
    public async Task Lookup_replace_and_delete_need_the_current_version()
    {
        var store = await CreateStoreAsync();
        var added = (await store.TryAddLookupAsync(NewLookup("rjs-" + UploadIds.New()), Ct)).Lookup!;

        var successor = added with { UploadId = UploadIds.New(), UpdatedAt = T0.AddMinutes(3) };
        var replaced = await store.TryReplaceLookupAsync(successor, Ct);
        Assert.Equal(MetadataWriteStatus.Success, replaced.Status);
        Assert.NotEqual(added.Version, replaced.Lookup!.Version);
        Assert.Equal(successor with { Version = replaced.Lookup.Version }, await store.GetLookupAsync(added.Key, Ct));

        // The old version lost: neither a replace nor a delete with it lands.
        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceLookupAsync(added with { UploadId = UploadIds.New() }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceLookupAsync(added with { Version = "" }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteLookupAsync(added.Key, added.Version, Ct));
        Assert.Equal(successor.UploadId, (await store.GetLookupAsync(added.Key, Ct))!.UploadId);

        Assert.Equal(MetadataWriteStatus.Success, await store.TryDeleteLookupAsync(added.Key, replaced.Lookup.Version, Ct));
        Assert.Null(await store.GetLookupAsync(added.Key, Ct));

        // A deleted key can be added again.
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryAddLookupAsync(NewLookup(added.Key), Ct)).Status);
    }

    [Fact]
    public async Task Lookup_racing_replaces_of_one_version_across_two_instances_exactly_one_wins()
    {
        var first = await CreateStoreAsync();
        var second = await CreateSecondInstanceAsync();
        var added = (await first.TryAddLookupAsync(NewLookup("rjs-" + UploadIds.New()), Ct)).Lookup!;
        var successors = Enumerable.Range(0, 8).Select(_ => added with { UploadId = UploadIds.New() }).ToArray();

        var results = await RaceAsync(8, i => (i % 2 == 0 ? first : second).TryReplaceLookupAsync(successors[i], Ct));

        var winner = Assert.Single(results, r => r.Status == MetadataWriteStatus.Success);
        Assert.Equal(7, results.Count(r => r.Status == MetadataWriteStatus.Conflict));
        Assert.Equal(winner.Lookup, await second.GetLookupAsync(added.Key, Ct));
    }

    [Fact]
    public async Task Lookup_sweep_deletes_exactly_the_due_entries_up_to_the_limit()
    {
        var store = await CreateStoreAsync();
        var now = T0.AddDays(1);
        var dueEarly = NewLookup("rjs-a-" + UploadIds.New(), now.AddHours(-2));
        var dueLate = NewLookup("rjs-b-" + UploadIds.New(), now.AddMinutes(-1));
        var dueNow = NewLookup("rjs-c-" + UploadIds.New(), now.ToOffset(TimeSpan.FromHours(-5)));
        var notYet = NewLookup("rjs-d-" + UploadIds.New(), now.AddTicks(1));
        var never = NewLookup("rjs-e-" + UploadIds.New(), expiresAt: null);
        foreach (var lookup in new[] { dueEarly, dueLate, dueNow, notYet, never })
        {
            Assert.Equal(MetadataWriteStatus.Success, (await store.TryAddLookupAsync(lookup, Ct)).Status);
        }

        // An upload record with the same expiry is not a lookup, and lookups are not upload records.
        var record = MinimalRecord(UploadIds.New()) with { ExpiresAt = now.AddHours(-1) };
        await store.CreateAsync(record, Ct);
        var expiredRecords = new List<UploadRecord>();
        await foreach (var expired in store.ListExpiredAsync(now, 100, Ct))
        {
            expiredRecords.Add(expired);
        }

        Assert.Equal([record.Id], expiredRecords.Select(r => r.Id));

        Assert.Equal(0, await store.DeleteExpiredLookupsAsync(now, 0, Ct));
        Assert.Equal(1, await store.DeleteExpiredLookupsAsync(now, 1, Ct));
        Assert.Null(await store.GetLookupAsync(dueEarly.Key, Ct)); // oldest first
        Assert.Equal(2, await store.DeleteExpiredLookupsAsync(now, 100, Ct));
        Assert.Equal(0, await store.DeleteExpiredLookupsAsync(now, 100, Ct));

        Assert.Null(await store.GetLookupAsync(dueLate.Key, Ct));
        Assert.Null(await store.GetLookupAsync(dueNow.Key, Ct));
        Assert.NotNull(await store.GetLookupAsync(notYet.Key, Ct));
        Assert.NotNull(await store.GetLookupAsync(never.Key, Ct));
        Assert.NotNull(await store.GetAsync(record.Id, Ct));
    }

    [Fact]
    public async Task Lookup_keys_and_upload_ids_do_not_collide()
    {
        var store = await CreateStoreAsync();
        var id = UploadIds.New();
        var lookup = NewLookup(id);

        Assert.Equal(MetadataWriteStatus.Success, (await store.TryAddLookupAsync(lookup, Ct)).Status);
        Assert.Null(await store.GetAsync(id, Ct));
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(MinimalRecord(id), Ct)).Status);
        Assert.Equal(lookup.UploadId, (await store.GetLookupAsync(id, Ct))!.UploadId);
    }

    [Fact]
    public async Task Lookup_operations_honour_a_cancelled_token()
    {
        var store = await CreateStoreAsync();
        var added = (await store.TryAddLookupAsync(NewLookup("rjs-" + UploadIds.New()), Ct)).Lookup!;
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.GetLookupAsync(added.Key, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryAddLookupAsync(NewLookup("rjs-" + UploadIds.New()), cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryReplaceLookupAsync(added with { UploadId = UploadIds.New() }, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.TryDeleteLookupAsync(added.Key, added.Version, cts.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.DeleteExpiredLookupsAsync(T0.AddDays(1), 10, cts.Token));

        Assert.Equal(added, await store.GetLookupAsync(added.Key, Ct));
    }

    private static UploadLookup NewLookup(string key) => NewLookup(key, T0.AddHours(1));

    private static UploadLookup NewLookup(string key, DateTimeOffset? expiresAt) => new()
    {
        Key = key,
        UploadId = UploadIds.New(),
        CreatedAt = T0,
        UpdatedAt = T0.AddSeconds(1).ToOffset(TimeSpan.FromHours(-7)),
        ExpiresAt = expiresAt,
    };
}
