using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>Cosmos-specific behaviour: the stored document, ttl, ETag compare-and-swap, and faults injected into the SDK's HTTP pipeline.</summary>
[Collection(CosmosCollection.Name)]
public sealed class CosmosStoreBehaviourTests(CosmosEmulatorFixture emulator) : IAsyncLifetime
{
    private const string Database = "sb-behaviour";
    private static readonly DateTimeOffset Now = new(2030, 1, 2, 3, 4, 5, 678, TimeSpan.Zero);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly string _container = "c" + Guid.NewGuid().ToString("N");
    private readonly List<IDisposable> _disposables = [];
    private CosmosClient _inspector = null!;

    private CancellationToken Ct => _timeout.Token;

    private Container Raw => _inspector.GetContainer(Database, _container);

    public Task InitializeAsync()
    {
        _inspector = emulator.CreateClient();
        _disposables.Add(_inspector);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (!emulator.IsBundledEmulator)
        {
            try
            {
                await Raw.DeleteContainerAsync();
            }
            catch (CosmosException)
            {
            }
        }

        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task A_container_indexed_by_an_earlier_version_gets_the_due_events_path_and_its_records_stay()
    {
        // What version 1 created: only the two expiry fields indexed, everything else excluded.
        var properties = new ContainerProperties(_container, "/id") { DefaultTimeToLive = -1 };
        properties.IndexingPolicy.IncludedPaths.Add(new IncludedPath { Path = "/expiresAtMs/?" });
        properties.IndexingPolicy.IncludedPaths.Add(new IncludedPath { Path = "/lookupExpiresAtMs/?" });
        properties.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/*" });
        await (await _inspector.CreateDatabaseIfNotExistsAsync(Database, cancellationToken: Ct)).Database.CreateContainerIfNotExistsAsync(properties, cancellationToken: Ct);

        var log = new ListLogger();
        var store = await OpenAsync(logger: log);

        var policy = (await Raw.ReadContainerAsync(cancellationToken: Ct)).Resource.IndexingPolicy;
        Assert.Equal(
            ["/eventsDueAtMs/?", "/expiresAtMs/?", "/lookupExpiresAtMs/?"],
            policy.IncludedPaths.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("added /eventsDueAtMs/?", StringComparison.Ordinal));
        var record = StorageBridge.Tests.Conformance.MetadataStoreConformanceTests.WithOutbox(
            new UploadRecord { Id = UploadIds.New(), Target = "t", ObjectKey = "k", CreatedAt = Now, UpdatedAt = Now }, Now);
        await store.CreateAsync(record, Ct);
        var due = new List<UploadRecord>();
        await foreach (var listed in store.ListDueEventsAsync(Now, 10, Ct))
        {
            due.Add(listed);
        }

        Assert.Equal(record.Id, Assert.Single(due).Id);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), (long)(await RawDocumentAsync(record.Id))["eventsDueAtMs"]!);
    }

    [Fact]
    public async Task Container_is_partitioned_on_id_with_ttl_enabled_per_item()
    {
        var log = new ListLogger();
        await OpenAsync(logger: log);
        Assert.DoesNotContain(log.Entries, e => e.Level == LogLevel.Warning);

        var properties = (await Raw.ReadContainerAsync(cancellationToken: Ct)).Resource;
        Assert.Equal("/id", properties.PartitionKeyPath);
        Assert.Equal(-1, properties.DefaultTimeToLive);

        // Only the expiry fields are indexed: a replace costs the same whatever the length of the part list.
        Assert.Equal(
            ["/eventsDueAtMs/?", "/expiresAtMs/?", "/lookupExpiresAtMs/?"],
            properties.IndexingPolicy.IncludedPaths.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Single(properties.IndexingPolicy.ExcludedPaths, p => p.Path == "/*");
    }

    [Fact]
    public async Task An_existing_container_without_ttl_is_used_as_it_is_with_a_warning()
    {
        var database = (await _inspector.CreateDatabaseIfNotExistsAsync(Database, cancellationToken: Ct)).Database;
        await database.CreateContainerAsync(new ContainerProperties(_container, "/id"), cancellationToken: Ct);
        var log = new ListLogger();

        var store = await OpenAsync(logger: log);

        Assert.Null((await Raw.ReadContainerAsync(cancellationToken: Ct)).Resource.DefaultTimeToLive);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith($"Time to live is off on container {_container}", StringComparison.Ordinal));
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(Record(UploadIds.New()) with { ExpiresAt = Now }, Ct)).Status);
    }

    [Fact]
    public async Task Document_is_the_shared_format_plus_id_expiry_and_ttl_set_from_ExpiresAt()
    {
        var time = new FakeTimeProvider(Now);
        var store = await OpenAsync(time: time, ttlGrace: TimeSpan.Zero);
        var expires = Now.AddSeconds(90.2).ToOffset(TimeSpan.FromHours(5));
        var record = Record(UploadIds.New()) with { ExpiresAt = expires, Offset = 7, Metadata = new Dictionary<string, string> { ["n"] = "ü" } };

        var created = (await store.CreateAsync(record, Ct)).Record!;

        var doc = await RawDocumentAsync(record.Id);
        Assert.Equal(91, (int)doc["ttl"]!); // rounded up: never expire early
        Assert.Equal(expires.ToUnixTimeMilliseconds(), (long)doc["expiresAtMs"]!);
        Assert.Equal(created.Version, (string)doc["_etag"]!);
        foreach (var extra in new[] { "ttl", "expiresAtMs", "_rid", "_self", "_etag", "_attachments", "_ts" })
        {
            doc.Remove(extra);
        }

        Assert.True(
            JsonNode.DeepEquals(JsonNode.Parse(UploadRecordJson.Serialize(record)), doc),
            $"stored: {doc.ToJsonString()}\nshared: {UploadRecordJson.Serialize(record)}");

        // No expiry: no ttl (the item lives until deleted) and no expiry field (never listed as expired).
        time.Advance(TimeSpan.FromSeconds(30));
        var replaced = (await store.TryReplaceAsync(created with { ExpiresAt = null }, Ct)).Record!;
        doc = await RawDocumentAsync(record.Id);
        Assert.False(doc.ContainsKey("ttl"));
        Assert.False(doc.ContainsKey("expiresAtMs"));

        // Already past its expiry: the smallest ttl Cosmos accepts, the expiry scan still sees it.
        await store.TryReplaceAsync(replaced with { ExpiresAt = Now.AddMinutes(-5) }, Ct);
        doc = await RawDocumentAsync(record.Id);
        Assert.Equal(1, (int)doc["ttl"]!);
        var listed = await ListAsync(store, Now, 10);
        Assert.Equal(record.Id, Assert.Single(listed).Id);
    }

    [Fact]
    public async Task By_default_the_ttl_trails_the_expiry_by_an_hour_so_the_expiry_scan_sees_the_record_first()
    {
        var store = await OpenAsync(time: new FakeTimeProvider(Now));
        var record = Record(UploadIds.New()) with { ExpiresAt = Now.AddMinutes(10) };

        await store.CreateAsync(record, Ct);

        var doc = await RawDocumentAsync(record.Id);
        Assert.Equal(600 + 3600, (int)doc["ttl"]!);
        Assert.Equal(record.ExpiresAt!.Value.ToUnixTimeMilliseconds(), (long)doc["expiresAtMs"]!);
    }

    [Theory]
    [InlineData(0.001, 0, 1)]
    [InlineData(1, 0, 1)]
    [InlineData(1.5, 0, 2)]
    [InlineData(3600, 0, 3600)]
    [InlineData(-10, 0, 1)]
    [InlineData(-10, 60, 50)]
    [InlineData(0.5, 3600, 3601)]
    public void Ttl_is_the_seconds_left_plus_grace_rounded_up_and_at_least_one(double secondsLeft, int graceSeconds, int ttl)
    {
        var grace = TimeSpan.FromSeconds(graceSeconds);
        Assert.Equal(ttl, CosmosUploadMetadataStore.TtlSeconds(Now.AddSeconds(secondsLeft), Now, grace));
        Assert.Null(CosmosUploadMetadataStore.TtlSeconds(null, Now, grace));
    }

    [Fact]
    public async Task Stale_etag_is_412_at_the_service_and_a_conflict_in_the_store()
    {
        var store = await OpenAsync();
        var created = (await store.CreateAsync(Record(UploadIds.New()), Ct)).Record!;
        var current = (await store.TryReplaceAsync(created with { Offset = 1 }, Ct)).Record!;
        Assert.NotEqual(created.Version, current.Version);

        // The service itself refuses the stale ETag (what the store's compare-and-swap relies on)...
        var stale = await Raw.ReplaceItemStreamAsync(
            new MemoryStream(System.Text.Encoding.UTF8.GetBytes(UploadRecordJson.Serialize(created))),
            created.Id, new PartitionKey(created.Id), new ItemRequestOptions { IfMatchEtag = created.Version }, Ct);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);

        // ...and the store maps it to Conflict for replace and delete, leaving the record alone.
        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceAsync(created with { Offset = 99 }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteAsync(created.Id, created.Version, Ct));
        Assert.Equal(MetadataWriteStatus.NotFound, (await store.TryReplaceAsync(Record(UploadIds.New()) with { Version = current.Version }, Ct)).Status);
        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(1, read!.Offset);
        Assert.Equal(current.Version, read.Version);
    }

    [Fact]
    public async Task Injected_429s_are_retried_after_the_advertised_delay()
    {
        var remaining = 6;
        var handler = new FaultInjectingHandler(_ => Interlocked.Decrement(ref remaining) >= 0 ? HttpStatusCode.TooManyRequests : null) { RetryAfterMs = 50 };
        var store = await OpenAsync(handler);
        var record = Record(UploadIds.New());

        var watch = Stopwatch.StartNew();
        var created = await store.CreateAsync(record, Ct);     // 429 x6, then through
        var replaced = await store.TryReplaceAsync(created.Record! with { Offset = 3 }, Ct);
        watch.Stop();

        Assert.Equal(MetadataWriteStatus.Success, created.Status);
        Assert.Equal(MetadataWriteStatus.Success, replaced.Status);
        Assert.Equal(6, handler.Injected);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(6 * 50 * 0.9), $"retried after {watch.Elapsed.TotalMilliseconds} ms");
        var read = await store.GetAsync(record.Id, Ct);
        Assert.Equal(3, read!.Offset);
        Assert.Equal(replaced.Record!.Version, read.Version);
    }

    [Fact]
    public async Task Injected_503s_are_retried_and_each_write_lands_once()
    {
        // Every other document request fails with 503 until 6 have been injected.
        var count = 0;
        var handler = new FaultInjectingHandler(_ => Interlocked.Increment(ref count) % 2 == 1 && count <= 12 ? HttpStatusCode.ServiceUnavailable : null);
        var log = new ListLogger();
        var store = await OpenAsync(handler, logger: log);
        var record = Record(UploadIds.New());

        var current = (await store.CreateAsync(record, Ct)).Record!;
        for (var i = 1; i <= 4; i++)
        {
            var result = await store.TryReplaceAsync(current with { Offset = i, Parts = [.. current.Parts, new PartRecord(i, i - 1, 1)] }, Ct);
            Assert.Equal(MetadataWriteStatus.Success, result.Status);
            current = result.Record!;
        }

        Assert.True(handler.Injected >= 5, $"only {handler.Injected} faults injected");
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Warning && e.Message.StartsWith("Cosmos DB answered 503 to replace; retry 1 of 5", StringComparison.Ordinal));
        var read = await store.GetAsync(record.Id, Ct);
        Assert.Equal(4, read!.Offset);
        Assert.Equal([1, 2, 3, 4], read.Parts.Select(p => p.Number));
        Assert.Equal(current.Version, read.Version);
    }

    [Fact]
    public async Task A_write_that_landed_but_whose_answer_was_lost_is_reported_as_the_success_it_was()
    {
        // The first POST and the first PUT reach the service and are stored; their answers are replaced by 503.
        var lose = new HashSet<HttpMethod>();
        var gate = new Lock();
        var handler = new FaultInjectingHandler(_ => null)
        {
            LoseAnswer = r =>
            {
                lock (gate)
                {
                    return (r.Method == HttpMethod.Post || r.Method == HttpMethod.Put) && r.Headers.Contains("x-ms-documentdb-isquery") is false && lose.Add(r.Method);
                }
            },
        };
        var store = await OpenAsync(handler);
        var record = Record(UploadIds.New()) with { Offset = 1 };

        var created = await store.CreateAsync(record, Ct);      // stored, 503, retried: 409 from our own write
        Assert.Equal(MetadataWriteStatus.Success, created.Status);
        var replaced = await store.TryReplaceAsync(created.Record! with { Offset = 2 }, Ct); // stored, 503, retried: 412
        Assert.Equal(MetadataWriteStatus.Success, replaced.Status);

        Assert.Equal(2, handler.Injected);
        var read = await store.GetAsync(record.Id, Ct);
        Assert.Equal(2, read!.Offset);
        Assert.Equal(replaced.Record!.Version, read.Version); // the version returned is the one stored, usable for the next write
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(read with { Offset = 3 }, Ct)).Status);

        // A genuinely lost race stays a conflict even after a retry: different content is stored.
        var other = await OpenAsync();
        var current = (await other.GetAsync(record.Id, Ct))!;
        await other.TryReplaceAsync(current with { Offset = 10 }, Ct);
        lose.Remove(HttpMethod.Put);
        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceAsync(current with { Offset = 11 }, Ct)).Status);
        Assert.Equal(10, (await store.GetAsync(record.Id, Ct))!.Offset);
    }

    [Fact]
    public async Task A_service_that_stays_unavailable_surfaces_an_error_and_changes_nothing()
    {
        var failing = false;
        var handler = new FaultInjectingHandler(r => Volatile.Read(ref failing) && r.Method == HttpMethod.Put ? HttpStatusCode.ServiceUnavailable : null);
        var store = await OpenAsync(handler);
        var created = (await store.CreateAsync(Record(UploadIds.New()), Ct)).Record!;

        Volatile.Write(ref failing, true);
        var error = await Assert.ThrowsAsync<StorageBackendException>(() => store.TryReplaceAsync(created with { Offset = 5 }, Ct));
        Assert.True(error.IsTransient);
        Assert.Equal(503, error.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, Assert.IsType<CosmosException>(error.InnerException).StatusCode);

        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(0, read!.Offset);
        Assert.Equal(created.Version, read.Version);
    }

    [Fact]
    public async Task A_412_storm_on_replace_answers_conflict_every_time_and_never_touches_the_record()
    {
        var storm = 0;
        var handler = new FaultInjectingHandler(r => r.Method == HttpMethod.Put && Interlocked.Decrement(ref storm) >= 0 ? HttpStatusCode.PreconditionFailed : null);
        var store = await OpenAsync(handler);
        var created = (await store.CreateAsync(Record(UploadIds.New()) with { Offset = 10 }, Ct)).Record!;

        Volatile.Write(ref storm, 25);
        for (var i = 0; i < 25; i++)
        {
            var result = await store.TryReplaceAsync(created with { Offset = 100 + i }, Ct);
            Assert.Equal(MetadataWriteStatus.Conflict, result.Status); // never retried blindly: 412 is a lost race
            Assert.Null(result.Record);
        }

        Assert.Equal(25, handler.Injected);
        var read = await store.GetAsync(created.Id, Ct);
        Assert.Equal(10, read!.Offset);
        Assert.Equal(created.Version, read.Version);

        // After the storm the same version still wins: nothing was written behind the store's back.
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(created with { Offset = 11 }, Ct)).Status);
    }

    [Fact]
    public async Task Racing_writers_on_two_instances_under_random_faults_lose_no_update()
    {
        // Two instances (own clients), each with its own faulty pipeline: ~25% of document requests get 429 or 503, or (replaces) 412.
        static FaultInjectingHandler Faulty(int seed)
        {
            var random = new Random(seed);
            var gate = new Lock();
            return new FaultInjectingHandler(request =>
            {
                lock (gate)
                {
                    return random.Next(12) switch
                    {
                        0 => HttpStatusCode.TooManyRequests,
                        1 => HttpStatusCode.ServiceUnavailable,
                        2 when request.Method == HttpMethod.Put => HttpStatusCode.PreconditionFailed, // a phantom lost race
                        _ => null,
                    };
                }
            }) { RetryAfterMs = 5 };
        }

        var a = Faulty(1);
        var b = Faulty(2);
        var first = await OpenAsync(a);
        var second = await OpenAsync(b);
        var id = UploadIds.New();
        Assert.Equal(MetadataWriteStatus.Success, (await first.CreateAsync(Record(id), Ct)).Status);

        const int PerWriter = 15;
        var successes = 0;

        async Task WriterAsync(IUploadMetadataStore store, string writer)
        {
            for (var done = 0; done < PerWriter;)
            {
                UploadRecord? current;
                try
                {
                    current = await store.GetAsync(id, Ct);
                }
                catch (StorageBackendException e) when (e.StatusCode == 503)
                {
                    continue;
                }

                // Each successful write appends part n+1 at offset n: any lost or doubled write breaks the sequence.
                // The writer's name in the record keeps two writers' records distinct, as lease owners keep real ones:
                // otherwise a writer whose retry finds the other's identical record would count it as its own write.
                var next = current! with
                {
                    Offset = current.Offset + 1,
                    Parts = [.. current.Parts, new PartRecord(current.Parts.Count + 1, current.Offset, 1, ETag: writer)],
                    LeaseOwner = writer,
                };
                try
                {
                    if ((await store.TryReplaceAsync(next, Ct)).Status == MetadataWriteStatus.Success)
                    {
                        done++;
                        Interlocked.Increment(ref successes);
                    }
                }
                catch (StorageBackendException e) when (e.StatusCode == 503)
                {
                    // Exhausted retries: outcome unknown to this writer, re-read decides.
                }
            }
        }

        await Task.WhenAll(Task.Run(() => WriterAsync(first, "a")), Task.Run(() => WriterAsync(second, "b")));

        var final = await second.GetAsync(id, Ct);
        Assert.True(a.Injected > 0 && b.Injected > 0, $"faults injected: {a.Injected}, {b.Injected}");
        Assert.True(final!.Offset >= 2 * PerWriter);
        Assert.Equal(Enumerable.Range(1, (int)final.Offset), final.Parts.Select(p => p.Number));
        Assert.Equal(Enumerable.Range(0, (int)final.Offset).Select(i => (long)i), final.Parts.Select(p => p.Offset));
        Assert.Equal(2 * PerWriter, successes);
        Assert.Equal(2 * PerWriter, final.Offset);
    }

    [Fact]
    public async Task Without_CreateIfMissing_a_missing_container_fails_at_start_up()
    {
        var store = new CosmosUploadMetadataStore(emulator.Options(Database, _container) with { CreateIfMissing = false });
        _disposables.Add(store);

        var error = await Assert.ThrowsAsync<CosmosException>(() => store.InitializeAsync(Ct));
        Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);

        await OpenAsync(); // creates it
        await store.InitializeAsync(Ct);
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(Record(UploadIds.New()), Ct)).Status);
    }

    private async Task<CosmosUploadMetadataStore> OpenAsync(
        FaultInjectingHandler? handler = null, TimeProvider? time = null, ILogger<CosmosUploadMetadataStore>? logger = null, TimeSpan? ttlGrace = null)
    {
        var options = emulator.Options(
            Database,
            _container,
            handler is null ? null : o => o.HttpClientFactory = () => new HttpClient(handler, disposeHandler: false))
            with { TtlGrace = ttlGrace ?? CosmosMetadataOptions.DefaultTtlGrace };
        var store = new CosmosUploadMetadataStore(options, time, logger);
        _disposables.Add(store);
        if (handler is not null)
        {
            _disposables.Add(handler);
        }

        await store.InitializeAsync(Ct);
        return store;
    }

    private async Task<JsonObject> RawDocumentAsync(string id)
    {
        using var response = await Raw.ReadItemStreamAsync(id, new PartitionKey(id), cancellationToken: Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await JsonNode.ParseAsync(response.Content, cancellationToken: Ct))!.AsObject();
    }

    private async Task<List<UploadRecord>> ListAsync(IUploadMetadataStore store, DateTimeOffset now, int limit)
    {
        var list = new List<UploadRecord>();
        await foreach (var record in store.ListExpiredAsync(now, limit, Ct))
        {
            list.Add(record);
        }

        return list;
    }

    private static UploadRecord Record(string id) => new()
    {
        Id = id,
        Target = "t",
        ObjectKey = "k/" + id,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private sealed class ListLogger : ILogger<CosmosUploadMetadataStore>
    {
        private readonly Lock _gate = new();
        private readonly List<(LogLevel Level, string Message)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Message)> Entries
        {
            get
            {
                lock (_gate)
                {
                    return [.. _entries];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_gate)
            {
                _entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
