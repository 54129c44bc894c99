using StorageBridge.Events;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>
/// Completion events on PostgreSQL: two StorageBridge.Host processes sharing one database (and one folder) both run
/// dispatchers; over 50 completions, split between them, the webhook receives each event once.
/// </summary>
public sealed class TwoHostsDeliverEventsOnPostgresTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "postgres-webhook-secret-0123456789-abcdefgh";
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private readonly string _shared = Directory.CreateTempSubdirectory("sb-events-pg-").FullName;
    private readonly List<HostProcess> _hosts = [];
    private PostgresServer _server = null!;
    private WebhookReceiver _receiver = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.StartNewAsync(Ct);
        await _server.CreateDatabaseAsync("bridge", Ct);
        _receiver = await WebhookReceiver.StartAsync(Secret, Ct);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _receiver.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_shared, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Two_hosts_on_one_database_deliver_each_of_50_events_exactly_once()
    {
        var hosts = await Task.WhenAll(StartHostAsync("A"), StartHostAsync("B"));

        var ids = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => CompleteUploadAsync(hosts[i % 2], 2_000 + i)));
        await using var store = new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = _server.ConnectionString("bridge") });
        foreach (var id in ids)
        {
            while ((await store.GetAsync(id, Ct))?.Outbox?.Deliveries.Single() is not { Status: EventDeliveryStatus.Delivered })
            {
                await Task.Delay(50, Ct);
            }
        }

        Assert.Equal(50, _receiver.Deliveries.Count);
        foreach (var id in ids)
        {
            Assert.Equal((1, 1), _receiver.CountsOf(id + ":completed"));
            Assert.Equal(1, (await store.GetAsync(id, Ct))!.Outbox!.Deliveries.Single().Attempts);
        }

        Assert.All(_receiver.Deliveries, d => Assert.True(d.SignatureValid));
        Assert.Empty(await ToListAsync(store.ListDueEventsAsync(DateTimeOffset.MaxValue, 100, Ct)));
    }

    private async Task<HostProcess> StartHostAsync(string name)
    {
        var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                Environment = new Dictionary<string, string?>
                {
                    ["StorageBridge__Metadata__Provider"] = "Postgres",
                    ["StorageBridge__Metadata__ConnectionString"] = _server.ConnectionString("bridge"),
                    ["StorageBridge__Targets__default__Root"] = _shared,
                    ["StorageBridge__Events__Sinks__hook__Type"] = "Webhook",
                    ["StorageBridge__Events__Sinks__hook__Url"] = _receiver.Url.ToString(),
                    ["StorageBridge__Events__Sinks__hook__Secret"] = Secret,
                    ["StorageBridge__Events__DispatchInterval"] = "0.2s",
                },
                OutputSink = line => output.WriteLine($"[{name}] {line}"),
            },
            Ct);
        lock (_hosts)
        {
            _hosts.Add(host);
        }

        return host;
    }

    private async Task<string> CompleteUploadAsync(HostProcess host, int size)
    {
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        var upload = await IetfUploadRequests.CreateAsync(client, "uploads/default", size, Ct);
        Assert.Equal(size, await IetfUploadRequests.AppendAsync(client, upload, (ulong)size, 0, size, size, Ct));
        return upload.AbsolutePath.Split('/')[^1];
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
