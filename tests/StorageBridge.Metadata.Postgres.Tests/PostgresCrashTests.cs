using System.Globalization;
using StorageBridge.Backends;
using StorageBridge.Tests;
using StorageBridge.Uploads;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// The server goes away under the store (pg_ctl stop -m immediate: every connection drops, no checkpoint) and comes
/// back: failures surface as transient storage errors, nothing is lost or applied twice, and the store carries on with
/// the connections it opens anew. Each test has a server of its own, since it stops it.
/// </summary>
public sealed class PostgresCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private PostgresServer _server = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync() => _server = await PostgresServer.StartNewAsync(Ct);

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task A_stopped_server_is_a_transient_failure_that_changes_nothing_and_the_store_recovers_after_restart()
    {
        await using var store = new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = _server.ConnectionString() });
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record(), Ct)).Record!;
        var lookup = (await store.TryAddLookupAsync(new UploadLookup { Key = "k1", UploadId = created.Id, CreatedAt = created.CreatedAt, UpdatedAt = created.CreatedAt }, Ct)).Lookup!;

        await _server.CrashAsync(Ct);

        // After its retries the store gives up with a transient error (the endpoints answer 503 with Retry-After).
        var read = await Assert.ThrowsAsync<StorageBackendException>(() => store.GetAsync(created.Id, Ct));
        Assert.True(read.IsTransient);
        Assert.Contains("PostgreSQL metadata store (schema storagebridge) is unavailable", read.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<Npgsql.NpgsqlException>(read.InnerException);
        Assert.True((await Assert.ThrowsAsync<StorageBackendException>(() => store.TryReplaceAsync(created with { Offset = 9 }, Ct))).IsTransient);
        Assert.True((await Assert.ThrowsAsync<StorageBackendException>(() => store.CreateAsync(Record(), Ct))).IsTransient);
        Assert.True((await Assert.ThrowsAsync<StorageBackendException>(() => store.TryReplaceLookupAsync(lookup with { UploadId = "x" }, Ct))).IsTransient);

        await _server.StartAsync(Ct);

        // The pool was cleared: no dead connection is handed out. Nothing the failed calls attempted landed.
        var after = await store.GetAsync(created.Id, Ct);
        Assert.Equal(created.Version, after!.Version);
        Assert.Equal(0, after.Offset);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(created with { Offset = 9 }, Ct)).Status);
        Assert.Equal(created.Id, (await store.GetLookupAsync("k1", Ct))!.UploadId);
        Assert.Equal("1", await _server.PsqlAsync("postgres", "SELECT count(*) FROM storagebridge.uploads", Ct));
    }

    [Fact]
    public async Task A_restart_during_racing_writers_loses_no_update_and_applies_none_twice()
    {
        const int Writers = 6;
        const int IncrementsEach = 40;
        var options = new PostgresMetadataOptions { ConnectionString = _server.ConnectionString() };
        await using var first = new PostgresUploadMetadataStore(options);
        await using var second = new PostgresUploadMetadataStore(options with { });
        await first.InitializeAsync(Ct);
        var id = (await first.CreateAsync(Record(), Ct)).Record!.Id;

        // Each writer counts its own increments in its own metadata entry and bumps the shared Offset, by
        // compare-and-swap. When a call fails, its outcome is unknown; the writer learns it from the stored entry.
        var failures = 0;
        var restarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<int> WriteAsync(int writer)
        {
            var store = writer % 2 == 0 ? first : second;
            var key = "w" + writer.ToString(CultureInfo.InvariantCulture);
            var mine = 0;
            while (mine < IncrementsEach)
            {
                try
                {
                    var current = (await store.GetAsync(id, Ct))!;
                    var next = current with
                    {
                        Offset = current.Offset + 1,
                        Metadata = new Dictionary<string, string>(current.Metadata) { [key] = (mine + 1).ToString(CultureInfo.InvariantCulture) },
                    };
                    if ((await store.TryReplaceAsync(next, Ct)).Status == MetadataWriteStatus.Success)
                    {
                        mine++;
                    }
                }
                catch (StorageBackendException e) when (e.IsTransient)
                {
                    Interlocked.Increment(ref failures);
                    await restarted.Task.WaitAsync(Ct);
                    var stored = (await store.GetAsync(id, Ct))!;
                    mine = stored.Metadata.TryGetValue(key, out var count) ? int.Parse(count, CultureInfo.InvariantCulture) : 0;
                }
            }

            return mine;
        }

        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(() => WriteAsync(w))).ToArray();

        // Crash once the writers are under way, and restart after a pause longer than the store's retries.
        while ((await first.GetAsync(id, Ct))!.Offset < 20)
        {
            await Task.Delay(5, Ct);
        }

        await _server.CrashAsync(Ct);
        await Task.Delay(TimeSpan.FromSeconds(2), Ct);
        await _server.StartAsync(Ct);
        restarted.SetResult();
        var counts = await Task.WhenAll(writers);

        var final = (await first.GetAsync(id, Ct))!;
        output.WriteLine($"offset {final.Offset}, version {final.Version}, failed calls {failures}");
        Assert.All(counts, c => Assert.Equal(IncrementsEach, c));
        Assert.Equal(Writers * IncrementsEach, final.Offset);
        for (var w = 0; w < Writers; w++)
        {
            Assert.Equal(IncrementsEach.ToString(CultureInfo.InvariantCulture), final.Metadata["w" + w.ToString(CultureInfo.InvariantCulture)]);
        }

        // Every successful swap (and only those) moved the version: one create plus one per increment.
        Assert.Equal((1 + (Writers * IncrementsEach)).ToString(CultureInfo.InvariantCulture), final.Version);
        Assert.True(failures > 0, "the crash interrupted no call");
    }

    private static UploadRecord Record()
    {
        var now = DateTimeOffset.UtcNow;
        return new UploadRecord { Id = UploadIds.New(), Target = "default", ObjectKey = "k", CreatedAt = now, UpdatedAt = now };
    }
}
