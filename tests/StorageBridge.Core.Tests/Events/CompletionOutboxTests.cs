using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;
using StorageBridge.Coordination;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.Events;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Events;

/// <summary>
/// The outbox in the engine: written by the completing compare-and-swap, kept by tombstones and the expiry sweep until
/// delivered, and the dispatcher's leases, retries and dead letters, on the in-memory store with a fake clock.
/// </summary>
public sealed class CompletionOutboxTests : IDisposable
{
    private readonly EngineHarness h = new(engine: DefaultEngine with { EventSinks = ["hook", "queue"] });

    public void Dispose() => h.Dispose();

    [Fact]
    public async Task The_completing_write_records_the_event_and_one_pending_delivery_per_sink()
    {
        var recorded = new ConcurrentQueue<string>();
        h.Coordinator.CompletionEventRecorded += recorded.Enqueue;
        var upload = await h.Coordinator.CreateAsync(
            new CreateUploadRequest { Target = TargetName, Length = 5_000, FileName = "a.txt", ContentType = "text/plain", Owner = "user-1", Metadata = new Dictionary<string, string> { ["k"] = "v" }, TrackSha256 = true },
            CancellationToken.None);
        h.Time.Advance(TimeSpan.FromSeconds(3));
        var data = Bytes(5_000);
        var before = await h.LoadExistingAsync(upload.Upload!.Id);
        Assert.Null(before.Outbox);

        // The upload is user-1's: only user-1's append finds it.
        var done = await h.Coordinator.AppendAsync(
            EngineHarness.Request(before.Id, 0, data.Length, complete: true) with { Owner = "user-1" }, new MemoryStream(data), CancellationToken.None);

        var record = await h.LoadExistingAsync(before.Id);
        Assert.Equal(UploadState.Completed, record.State);
        var outbox = record.Outbox!;
        Assert.Equal(done.Upload!.Version, record.Version);
        Assert.Equal(["hook", "queue"], outbox.Deliveries.Select(d => d.Sink).ToArray());
        Assert.All(outbox.Deliveries, d => Assert.Equal((EventDeliveryStatus.Pending, 0, record.UpdatedAt), (d.Status, d.Attempts, d.DueAt)));
        Assert.Equal(record.UpdatedAt, record.EventsDueAt);
        var e = outbox.Event;
        Assert.Equal(before.Id + ":completed", e.IdempotencyKey);
        Assert.Equal((before.Id, TargetName, h.Root, record.ObjectKey, 5_000L), (e.UploadId, e.Target, e.Location, e.ObjectKey, e.Size));
        Assert.Equal(("text/plain", "a.txt", "user-1"), (e.ContentType, e.FileName, e.Principal));
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(data)), e.Checksums["sha-256"]);
        Assert.Equal(record.StoredObject!.ETag, e.Checksums["etag"]);
        Assert.Equal("v", e.Metadata["k"]);
        Assert.Equal(Epoch + TimeSpan.FromSeconds(3), e.CompletedAt);
        Assert.Equal([before.Id], recorded.ToArray());
    }

    [Fact]
    public async Task Without_sinks_no_outbox_is_written()
    {
        using var plain = new EngineHarness();
        var upload = await plain.CreateAsync(length: 10);
        await plain.AppendAsync(upload.Id, 0, Bytes(10), complete: true);

        var record = await plain.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completed, record.State);
        Assert.Null(record.Outbox);
        Assert.Null(record.EventsDueAt);
    }

    [Fact]
    public async Task A_cancelled_completed_upload_keeps_its_pending_event_past_the_tombstone_retention_until_it_is_delivered()
    {
        var upload = await h.CreateAsync(length: 10);
        await h.AppendAsync(upload.Id, 0, Bytes(10), complete: true);
        await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None);
        Assert.NotNull((await h.LoadExistingAsync(upload.Id)).EventsDueAt);

        // Past the retention: the sweep keeps the tombstone (re-dated) because its event is still pending.
        h.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.Coordinator.CleanupExpiredAsync(CancellationToken.None);
        var kept = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Cancelled, kept.State);
        Assert.Equal(h.Time.GetUtcNow() + TimeSpan.FromDays(1), kept.ExpiresAt);

        var sinks = new RecordingSink("hook") { }.And(new RecordingSink("queue"));
        var round = await Dispatcher(sinks).DispatchDueAsync(CancellationToken.None);
        Assert.Equal(2, round.Delivered);
        Assert.Null((await h.LoadExistingAsync(upload.Id)).EventsDueAt);

        h.Time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await h.Coordinator.CleanupExpiredAsync(CancellationToken.None);
        Assert.Null(await h.LoadAsync(upload.Id));
    }

    [Fact]
    public async Task Failed_attempts_are_retried_with_growing_delays_and_dead_lettered_after_MaxAttempts()
    {
        using var single = new EngineHarness(engine: DefaultEngine with { EventSinks = ["hook"] });
        var upload = await single.CreateAsync(length: 10);
        await single.AppendAsync(upload.Id, 0, Bytes(10), complete: true);
        var hook = new RecordingSink("hook") { FailFirst = int.MaxValue };
        var dispatcher = new CompletionEventDispatcher(
            single.Store, [hook], new CompletionEventOptions { MaxAttempts = 3, RetryDelay = TimeSpan.FromSeconds(10), MaxRetryDelay = TimeSpan.FromMinutes(5) },
            "node-a", single.Time, NullLogger<CompletionEventDispatcher>.Instance);

        var delays = new List<TimeSpan>();
        for (var round = 0; round < 3; round++)
        {
            var due = (await single.LoadExistingAsync(upload.Id)).EventsDueAt!.Value;
            delays.Add(due - single.Time.GetUtcNow());
            single.Time.SetUtcNow(due);
            var done = await dispatcher.DispatchDueAsync(CancellationToken.None);
            Assert.Equal(round < 2 ? (1, 0) : (0, 1), (done.Failed, done.DeadLettered));

            // Not due again yet: a second round right away finds nothing.
            Assert.Equal(0, (await dispatcher.DispatchDueAsync(CancellationToken.None)).Due);
        }

        var delivery = (await single.LoadExistingAsync(upload.Id)).Outbox!.Deliveries.Single();
        Assert.Equal((EventDeliveryStatus.DeadLettered, 3, single.Time.GetUtcNow()), (delivery.Status, delivery.Attempts, delivery.FinishedAt));
        Assert.Contains("refused attempt 3", delivery.LastError, StringComparison.Ordinal);
        Assert.Null((await single.LoadExistingAsync(upload.Id)).EventsDueAt);
        Assert.Equal(3, hook.Calls);

        // Due at once, then after 5-10 s (RetryDelay with jitter), then 10-20 s (doubled).
        Assert.Equal(TimeSpan.Zero, delays[0]);
        Assert.InRange(delays[1], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10));
        Assert.InRange(delays[2], TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Dispatchers_of_several_instances_racing_on_one_store_deliver_each_event_once()
    {
        var ids = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            var upload = await h.CreateAsync(length: 10);
            await h.AppendAsync(upload.Id, 0, Bytes(10, seed: i), complete: true);
            ids.Add(upload.Id);
        }

        var delivered = new ConcurrentQueue<string>();
        var dispatchers = Enumerable.Range(0, 4).Select(i => Dispatcher(
            [new RecordingSink("hook", delivered), new RecordingSink("queue", delivered)], instanceId: $"node-{i}")).ToList();
        while ((await Task.WhenAll(dispatchers.Select(d => d.DispatchDueAsync(CancellationToken.None)))).Any(r => r.Due > 0))
        {
        }

        Assert.Equal(60, delivered.Count);
        Assert.Equal(60, delivered.Distinct().Count());
        foreach (var id in ids)
        {
            Assert.All((await h.LoadExistingAsync(id)).Outbox!.Deliveries, d => Assert.Equal((EventDeliveryStatus.Delivered, 1), (d.Status, d.Attempts)));
        }
    }

    [Fact]
    public async Task A_lease_of_an_instance_that_died_lapses_and_another_instance_delivers_with_the_same_key()
    {
        var upload = await h.CreateAsync(length: 10);
        await h.AppendAsync(upload.Id, 0, Bytes(10), complete: true);
        var stuck = new RecordingSink("hook") { Hang = true };
        using var dying = new CancellationTokenSource();
        var first = Dispatcher([stuck, new RecordingSink("queue")], new CompletionEventOptions { DeliveryLease = TimeSpan.FromSeconds(30) }, "node-dead");
        var running = first.DispatchDueAsync(dying.Token);
        await WaitUntilAsync(() => Task.FromResult(stuck.Calls == 1), "the first attempt started");
        dying.Cancel(); // the instance goes away mid-attempt: nothing is recorded
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);

        // Both deliveries stay leased by the dead instance until the lease lapses; then another instance takes them.
        var keys = new ConcurrentQueue<string>();
        var second = Dispatcher([new RecordingSink("hook", keys), new RecordingSink("queue", keys)], instanceId: "node-b");
        Assert.Equal(0, (await second.DispatchDueAsync(CancellationToken.None)).Due);
        var leased = (await h.LoadExistingAsync(upload.Id)).Outbox!.Deliveries;
        Assert.All(leased, d => Assert.Equal(("node-dead", 1, Epoch + TimeSpan.FromSeconds(30)), (d.LeaseOwner, d.Attempts, d.DueAt)));
        h.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(2, (await second.DispatchDueAsync(CancellationToken.None)).Delivered);

        var record = await h.LoadExistingAsync(upload.Id);
        Assert.All(record.Outbox!.Deliveries, d => Assert.Equal((EventDeliveryStatus.Delivered, 2, (string?)null), (d.Status, d.Attempts, d.LeaseOwner)));
        Assert.Equal([$"hook/{upload.Id}:completed", $"queue/{upload.Id}:completed"], keys.Order(StringComparer.Ordinal).ToArray());
    }

    [Fact]
    public async Task Tus_concatenation_records_the_event_with_the_completed_upload()
    {
        var root = Path.Combine(Path.GetTempPath(), "sb-concat-events-" + Guid.NewGuid().ToString("N"));
        try
        {
            var target = new Targets.UploadTarget(TargetName, new FileSystem.FileSystemBackend(new FileSystem.FileSystemBackendOptions { Root = root }), new Targets.UploadTargetOptions { Backend = "FileSystem" });
            var coordinator = new UploadCoordinator(
                new Targets.UploadTargetRegistry([target]), h.Store, DefaultEngine with { EventSinks = ["hook"] }, h.Time, NullLogger<UploadCoordinator>.Instance);
            var parts = new List<string>();
            foreach (var size in new[] { 3, 4 })
            {
                var created = await coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = size }, CancellationToken.None);
                await coordinator.AppendAsync(Request(created.Upload!.Id, 0, size), new TestBody(Bytes(size), chunk: 2), CancellationToken.None);
                parts.Add(created.Upload.Id);
            }

            var joined = await coordinator.ConcatenateAsync(new ConcatenateRequest { Target = TargetName, SourceIds = parts, Owner = "tenant-a" }, CancellationToken.None);

            var record = await h.LoadExistingAsync(joined.Upload!.Id);
            Assert.Equal((UploadState.Completed, 7L), (record.State, record.Outbox!.Event.Size));
            Assert.Equal(joined.Upload.Id + ":completed", record.Outbox.Event.IdempotencyKey);
            Assert.Equal(EventDeliveryStatus.Pending, record.Outbox.Deliveries.Single().Status);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private CompletionEventDispatcher Dispatcher(IEnumerable<ICompletionEventSink> sinks, CompletionEventOptions? options = null, string instanceId = "node-a") =>
        new(h.Store, sinks, options ?? new CompletionEventOptions(), instanceId, h.Time, NullLogger<CompletionEventDispatcher>.Instance);

    /// <summary>An in-process sink: records the idempotency keys it accepted; can refuse the first attempts or hang.</summary>
    private sealed class RecordingSink(string name, ConcurrentQueue<string>? accepted = null) : ICompletionEventSink
    {
        private int _calls;

        public string Name => name;

        public int FailFirst { get; init; }

        public bool Hang { get; init; }

        public int Calls => Volatile.Read(ref _calls);

        public RecordingSink[] And(RecordingSink other) => [this, other];

        public async Task DeliverAsync(UploadCompletedEvent completed, CancellationToken cancellationToken)
        {
            var call = Interlocked.Increment(ref _calls);
            if (Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (call <= FailFirst)
            {
                throw new InvalidOperationException($"refused attempt {call}");
            }

            accepted?.Enqueue($"{name}/{completed.IdempotencyKey}");
        }
    }
}
