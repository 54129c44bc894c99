using StorageBridge.Events;
using StorageBridge.Metadata;
using StorageBridge.Uploads;
using Xunit;

namespace StorageBridge.Tests.Conformance;

/// <summary>The completion event outbox: the record round-trips it, and <c>ListDueEventsAsync</c> follows its due time.</summary>
public abstract partial class MetadataStoreConformanceTests
{
    [Fact]
    public async Task Outbox_round_trips_every_field()
    {
        var store = await CreateStoreAsync();
        var record = WithOutbox(FullRecord(UploadIds.New()) with { State = UploadState.Completed, ExpiresAt = null }, T0.AddMinutes(1));
        record = record with
        {
            Outbox = record.Outbox!.WithDelivery("queue", d => d with
            {
                Status = EventDeliveryStatus.DeadLettered,
                Attempts = 8,
                FinishedAt = T0.AddHours(3).ToOffset(TimeSpan.FromHours(-4)),
                LastError = "HttpRequestException: 503 ünïcode \u0001",
            }),
        };

        var created = (await store.CreateAsync(record, Ct)).Record!;
        var read = (await store.GetAsync(created.Id, Ct))!;

        var outbox = read.Outbox!;
        Assert.Equal(UploadRecordJson.Serialize(record), UploadRecordJson.Serialize(read));
        Assert.Equal(record.Outbox!.Event.IdempotencyKey, outbox.Event.IdempotencyKey);
        Assert.Equal("ab==", outbox.Event.Checksums["sha-256"]);
        Assert.Equal("tenant-7", outbox.Event.Principal);
        Assert.Equal(T0.Ticks, outbox.Event.CompletedAt.Ticks);
        Assert.Equal(T0.Offset, outbox.Event.CompletedAt.Offset);
        Assert.Equal([EventDeliveryStatus.Pending, EventDeliveryStatus.DeadLettered], outbox.Deliveries.Select(d => d.Status).ToArray());
        Assert.Equal(T0.AddMinutes(1), read.EventsDueAt);
    }

    [Fact]
    public async Task List_due_events_returns_only_pending_due_deliveries_earliest_first()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

        var threeHoursAgo = await CreateWithOutbox(store, now.AddHours(-3).ToOffset(TimeSpan.FromHours(9)));
        var oneHourAgo = await CreateWithOutbox(store, now.AddHours(-1).ToOffset(TimeSpan.FromHours(-10)));
        var exactlyNow = await CreateWithOutbox(store, now.ToOffset(TimeSpan.FromHours(5)));
        await CreateWithOutbox(store, now.AddMilliseconds(1));
        await CreateWithOutbox(store, now.AddHours(2));
        await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct); // no outbox
        var delivered = WithOutbox(MinimalRecord(UploadIds.New()), now.AddHours(-5));
        delivered = delivered with { Outbox = Finish(delivered.Outbox!) };
        Assert.Null(delivered.EventsDueAt);
        await store.CreateAsync(delivered, Ct); // every delivery finished: never listed

        // An expiring record is not due for events, and a due event is not an expiry.
        await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = now.AddHours(-4) }, Ct);

        var due = await ListDueEvents(store, now, 100);

        Assert.Equal([threeHoursAgo.Id, oneHourAgo.Id, exactlyNow.Id], due.Select(r => r.Id).ToArray());
        Assert.Equal(threeHoursAgo.Version, due[0].Version);
        Assert.Equal(threeHoursAgo.Outbox!.Event.UploadId, due[0].Outbox!.Event.UploadId);
        Assert.Single(await ListExpiredIds(store, now));
    }

    [Fact]
    public async Task List_due_events_honours_the_limit_keeping_the_earliest()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.FromHours(1));
        var created = new List<UploadRecord>();
        foreach (var minutes in new[] { 50, 10, 40, 20, 30 })
        {
            created.Add(await CreateWithOutbox(store, now.AddMinutes(-minutes)));
        }

        Assert.Equal([created[0].Id, created[2].Id], (await ListDueEvents(store, now, 2)).Select(r => r.Id).ToArray());
        Assert.Equal(
            [created[0].Id, created[2].Id, created[4].Id, created[3].Id, created[1].Id],
            (await ListDueEvents(store, now, 5)).Select(r => r.Id).ToArray());
        Assert.Empty(await ListDueEvents(store, now, 0));
    }

    [Fact]
    public async Task List_due_events_follows_leases_retries_outcomes_and_deletes()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var leased = await CreateWithOutbox(store, now.AddMinutes(-5));
        var delivered = await CreateWithOutbox(store, now.AddMinutes(-4));
        var deleted = await CreateWithOutbox(store, now.AddMinutes(-3));
        var retried = await CreateWithOutbox(store, now.AddMinutes(-2));
        var addedLater = await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct);

        // A lease moves the due time to the lease's end; a finished delivery leaves the index; a retry re-dates it.
        await store.TryReplaceAsync(leased with { Outbox = Redate(leased.Outbox!, now.AddMinutes(1), "instance-a") }, Ct);
        await store.TryReplaceAsync(delivered with { Outbox = Finish(delivered.Outbox!) }, Ct);
        await store.TryDeleteAsync(deleted.Id, deleted.Version, Ct);
        await store.TryReplaceAsync(retried with { Outbox = Redate(retried.Outbox!, now.AddMinutes(-30), null) }, Ct);
        var completedNow = (await store.TryReplaceAsync(WithOutbox(addedLater.Record!, now.AddMinutes(-1)), Ct)).Record!;

        var due = await ListDueEvents(store, now, 10);
        Assert.Equal([retried.Id, completedNow.Id], due.Select(r => r.Id).ToArray());
        Assert.Equal(completedNow.Version, due[1].Version);

        // The lease lapses: due again, with a version usable for the next compare-and-swap.
        var later = await ListDueEvents(store, now.AddMinutes(1), 10);
        var lapsed = Assert.Single(later, r => r.Id == leased.Id);
        Assert.Equal("instance-a", lapsed.Outbox!.Deliveries[0].LeaseOwner);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(lapsed with { Outbox = Finish(lapsed.Outbox) }, Ct)).Status);
        Assert.DoesNotContain(await ListDueEvents(store, now.AddMinutes(1), 10), r => r.Id == leased.Id);
    }

    [Fact]
    public async Task A_tombstone_keeps_its_pending_event_listed()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var record = await CreateWithOutbox(store, now.AddMinutes(-1));

        var tombstone = (await store.TryReplaceAsync(record with { State = UploadState.Cancelled, ExpiresAt = now.AddDays(1) }, Ct)).Record!;

        var listed = Assert.Single(await ListDueEvents(store, now, 10));
        Assert.Equal(UploadState.Cancelled, listed.State);
        Assert.Equal(tombstone.Version, listed.Version);
    }

    /// <summary>A completed record whose outbox holds two pending deliveries ("webhook" due at <paramref name="due"/>, "queue" an hour later).</summary>
    public static UploadRecord WithOutbox(UploadRecord record, DateTimeOffset due) => record with
    {
        State = UploadState.Completed,
        Outbox = new CompletionOutbox
        {
            Event = new UploadCompletedEvent
            {
                IdempotencyKey = record.Id + ":completed",
                UploadId = record.Id,
                Target = record.Target,
                Location = "bucket-ü",
                ObjectKey = record.ObjectKey,
                Size = 1_234_567,
                ContentType = "image/png",
                FileName = "ça va.png",
                Checksums = new Dictionary<string, string> { ["sha-256"] = "ab==", ["etag"] = "\"e-1\"" },
                Metadata = new Dictionary<string, string> { ["k"] = "v\u0000w", ["名"] = "値" },
                Principal = "tenant-7",
                CompletedAt = T0,
            },
            Deliveries =
            [
                new EventDelivery { Sink = "webhook", DueAt = due },
                new EventDelivery { Sink = "queue", DueAt = due.AddHours(1), Attempts = 2, LastError = "timeout" },
            ],
        },
    };

    private static CompletionOutbox Finish(CompletionOutbox outbox) => outbox with
    {
        Deliveries = [.. outbox.Deliveries.Select(d => d with { Status = EventDeliveryStatus.Delivered, FinishedAt = T0, LeaseOwner = null, LeaseUntil = null })],
    };

    private static CompletionOutbox Redate(CompletionOutbox outbox, DateTimeOffset due, string? leaseOwner) => outbox with
    {
        Deliveries = [.. outbox.Deliveries.Select(d => d with { DueAt = due, LeaseOwner = leaseOwner, LeaseUntil = leaseOwner is null ? null : due, Attempts = d.Attempts + 1 })],
    };

    private async Task<UploadRecord> CreateWithOutbox(IUploadMetadataStore store, DateTimeOffset due)
    {
        var created = await store.CreateAsync(WithOutbox(MinimalRecord(UploadIds.New()), due), Ct);
        Assert.Equal(MetadataWriteStatus.Success, created.Status);
        return created.Record!;
    }

    private async Task<List<UploadRecord>> ListDueEvents(IUploadMetadataStore store, DateTimeOffset now, int limit)
    {
        var records = new List<UploadRecord>();
        await foreach (var record in store.ListDueEventsAsync(now, limit, Ct))
        {
            records.Add(record);
        }

        return records;
    }

    private async Task<List<string>> ListExpiredIds(IUploadMetadataStore store, DateTimeOffset now)
    {
        var ids = new List<string>();
        await foreach (var record in store.ListExpiredAsync(now, 100, Ct))
        {
            ids.Add(record.Id);
        }

        return ids;
    }
}
