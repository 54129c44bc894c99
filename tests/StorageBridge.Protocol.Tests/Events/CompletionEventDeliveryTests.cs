using System.Security.Cryptography;
using System.Text.Json;
using StorageBridge.Events;
using StorageBridge.Metadata.Sqlite;
using StorageBridge.Tests;
using StorageBridge.Uploads;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Events;

/// <summary>
/// Completion events end to end: StorageBridge.Host processes (SQLite metadata, file target) deliver to a real HTTP
/// receiver. Outcomes are read from the outbox in the database the hosts write, never waited for by the clock.
/// </summary>
public sealed class CompletionEventDeliveryTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Secret = "test-webhook-secret-0123456789-abcdefghij";
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(4));
    private readonly List<HostProcess> _hosts = [];
    private readonly string _data = Path.Combine(Path.GetTempPath(), "sb-events-" + Guid.NewGuid().ToString("N"));
    private WebhookReceiver _receiver = null!;

    private CancellationToken Ct => _timeout.Token;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_data);
        _receiver = await WebhookReceiver.StartAsync(Secret, Ct);
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        await _receiver.DisposeAsync();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task An_event_recorded_by_a_host_killed_before_dispatch_is_delivered_once_after_the_restart()
    {
        // The first host records the outbox but dispatches nothing (no hosted dispatcher), then dies by SIGKILL.
        var first = await StartHostAsync(new() { ["StorageBridge__Events__DispatchInterval"] = "none" });
        var (id, sha) = await CompleteUploadAsync(first, seed: 11, size: 70_000);
        var pending = (await ReadRecordAsync(id))!.Outbox!;
        Assert.Equal(EventDeliveryStatus.Pending, pending.Deliveries.Single().Status);
        first.Kill();
        Assert.Empty(_receiver.Deliveries);

        await StartHostAsync([]);
        var delivered = await WaitForDeliveryAsync(id, d => d.Status == EventDeliveryStatus.Delivered);

        Assert.Equal(1, delivered.Attempts);
        Assert.Equal((1, 1), _receiver.CountsOf(id + ":completed"));
        var received = _receiver.Deliveries.Single();
        Assert.True(received.SignatureValid);
        AssertEvent(received.Body, id, sha, 70_000);
    }

    [Fact]
    public async Task A_host_killed_during_delivery_leaves_it_to_the_restarted_host_and_the_receiver_acknowledges_once()
    {
        // The receiver holds the first request open; the host is killed while it waits for the answer.
        var held = new TaskCompletionSource();
        var firstArrived = new TaskCompletionSource();
        _receiver.Answer = async (_, n) =>
        {
            if (n == 1)
            {
                firstArrived.TrySetResult();
                await held.Task.WaitAsync(Ct);
            }

            return 204;
        };
        var environment = new Dictionary<string, string?> { ["StorageBridge__Events__DeliveryLease"] = "2s" };
        var first = await StartHostAsync(environment);
        var (id, sha) = await CompleteUploadAsync(first, seed: 12, size: 1_000);
        await firstArrived.Task.WaitAsync(Ct);
        first.Kill();
        held.SetResult();

        // The restarted host finds the lease of the dead one; once it lapses, it delivers again with the same key.
        await StartHostAsync(environment);
        var delivered = await WaitForDeliveryAsync(id, d => d.Status == EventDeliveryStatus.Delivered);

        Assert.Equal(2, delivered.Attempts);
        Assert.Equal((2, 1), _receiver.CountsOf(id + ":completed"));
        var bodies = _receiver.Deliveries.Select(d => Convert.ToHexString(SHA256.HashData(d.Body))).Distinct().ToList();
        Assert.Single(bodies);
        Assert.All(_receiver.Deliveries, d => Assert.True(d.SignatureValid));
        AssertEvent(_receiver.Deliveries[^1].Body, id, sha, 1_000);
    }

    [Fact]
    public async Task A_webhook_failing_three_times_gets_the_event_on_the_fourth_attempt()
    {
        _receiver.Answer = (_, n) => Task.FromResult(n <= 3 ? 503 : 200);
        var host = await StartHostAsync([]);
        var (id, sha) = await CompleteUploadAsync(host, seed: 13, size: 5_000);

        var delivered = await WaitForDeliveryAsync(id, d => d.Status == EventDeliveryStatus.Delivered);

        Assert.Equal(4, delivered.Attempts);
        Assert.Null(delivered.LastError);
        Assert.Equal([503, 503, 503, 200], _receiver.Deliveries.Select(d => d.AnsweredStatus ?? 0).ToArray());
        Assert.Equal((4, 1), _receiver.CountsOf(id + ":completed"));
        Assert.Single(_receiver.Deliveries.Select(d => Convert.ToHexString(d.Body)).Distinct());
        AssertEvent(_receiver.Deliveries[^1].Body, id, sha, 5_000);
    }

    [Fact]
    public async Task A_webhook_that_keeps_failing_is_dead_lettered_after_MaxAttempts()
    {
        _receiver.Answer = (_, _) => Task.FromResult(500);
        var host = await StartHostAsync(new() { ["StorageBridge__Events__MaxAttempts"] = "3" });
        var (id, _) = await CompleteUploadAsync(host, seed: 14, size: 2_000);

        var dead = await WaitForDeliveryAsync(id, d => d.Status == EventDeliveryStatus.DeadLettered);

        Assert.Equal(3, dead.Attempts);
        Assert.Contains("500", dead.LastError, StringComparison.Ordinal);
        Assert.Equal((3, 0), _receiver.CountsOf(id + ":completed"));
        Assert.Null((await ReadRecordAsync(id))!.EventsDueAt);
        await WaitForOutputAsync(host, $"Completion event of upload {id} dead-lettered for sink hook after 3 attempts");
    }

    [Fact]
    public async Task Two_hosts_sharing_one_store_deliver_each_of_50_events_exactly_once()
    {
        var a = await StartHostAsync([]);
        var b = await StartHostAsync(new()
        {
            ["StorageBridge__Targets__default__Root"] = a.TargetRoot,
            ["StorageBridge__Metadata__Path"] = a.MetadataPath,
        });

        var uploads = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => CompleteUploadAsync(i % 2 == 0 ? a : b, seed: 100 + (ulong)i, size: 3_000 + i)));
        foreach (var (id, _) in uploads)
        {
            await WaitForDeliveryAsync(id, d => d.Status == EventDeliveryStatus.Delivered);
        }

        Assert.Equal(50, _receiver.Deliveries.Count);
        foreach (var (id, sha) in uploads)
        {
            Assert.Equal((1, 1), _receiver.CountsOf(id + ":completed"));
            Assert.Equal(1, (await ReadRecordAsync(id))!.Outbox!.Deliveries.Single().Attempts);
        }

        Assert.All(_receiver.Deliveries, d => Assert.True(d.SignatureValid));
        var (lastId, lastSha) = uploads[^1];
        AssertEvent(_receiver.Deliveries.Single(d => d.IdempotencyKey == lastId + ":completed").Body, lastId, lastSha, 3_049);
    }

    [Fact]
    public async Task Without_a_hosted_dispatcher_the_maintenance_endpoints_deliver_what_is_due()
    {
        // The Lambda profile: no timer runs between requests, a schedule calls the maintenance endpoint.
        const string MaintenanceSecret = "maintenance-secret-0123456789-abcdefghijkl";
        var host = await StartHostAsync(new()
        {
            ["StorageBridge__Events__DispatchInterval"] = "none",
            ["StorageBridge__Maintenance__Secret"] = MaintenanceSecret,
        });
        var (first, _) = await CompleteUploadAsync(host, seed: 21, size: 600);
        Assert.Empty(_receiver.Deliveries);
        using var client = new HttpClient { BaseAddress = host.BaseAddress };

        using (var refused = await client.PostAsync("maintenance/events", null, Ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, refused.StatusCode);
        }

        Assert.Equal("{\"events\":{\"delivered\":1,\"failed\":0,\"deadLettered\":0,\"more\":false}}", await PostMaintenanceAsync(client, "maintenance/events", MaintenanceSecret));
        Assert.Equal((1, 1), _receiver.CountsOf(first + ":completed"));

        var (second, _) = await CompleteUploadAsync(host, seed: 22, size: 700);
        Assert.Equal(
            "{\"handled\":0,\"more\":false,\"events\":{\"delivered\":1,\"failed\":0,\"deadLettered\":0,\"more\":false}}",
            await PostMaintenanceAsync(client, "maintenance/expire", MaintenanceSecret));
        Assert.Equal((1, 1), _receiver.CountsOf(second + ":completed"));
        Assert.Equal(2, _receiver.Deliveries.Count);
    }

    private async Task<string> PostMaintenanceAsync(HttpClient client, string path, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        request.Headers.Add("X-StorageBridge-Maintenance-Secret", secret);
        using var response = await client.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, body);
        return body;
    }

    [Fact]
    public async Task A_webhook_sink_with_a_short_secret_stops_start_up_naming_the_key()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartHostAsync(new() { ["StorageBridge__Events__Sinks__hook__Secret"] = "too-short" }));

        Assert.Contains("StorageBridge:Events:Sinks:hook:Secret", error.Message, StringComparison.Ordinal);
    }

    private async Task<HostProcess> StartHostAsync(Dictionary<string, string?> overrides)
    {
        var environment = new Dictionary<string, string?>
        {
            ["StorageBridge__Events__Sinks__hook__Type"] = "Webhook",
            ["StorageBridge__Events__Sinks__hook__Url"] = _receiver.Url.ToString(),
            ["StorageBridge__Events__Sinks__hook__Secret"] = Secret,
            ["StorageBridge__Events__Sinks__hook__Timeout"] = "20s",
            ["StorageBridge__Events__RetryDelay"] = "0.1s",
            ["StorageBridge__Events__MaxRetryDelay"] = "0.4s",
            ["StorageBridge__Events__DispatchInterval"] = "0.2s",
            ["StorageBridge__Events__DeliveryLease"] = "30s",
        };
        foreach (var (key, value) in overrides)
        {
            environment[key] = value;
        }

        var host = await HostProcess.StartAsync(
            new HostProcessOptions
            {
                DataDirectory = Path.Combine(_data, "host"),
                KeepDataDirectory = true,
                Environment = environment,
                OutputSink = output.WriteLine,
            },
            Ct);
        _hosts.Add(host);
        return host;
    }

    private async Task<(string Id, string Sha256)> CompleteUploadAsync(HostProcess host, ulong seed, long size)
    {
        using var client = new HttpClient { BaseAddress = host.BaseAddress };
        Uri upload;
        using (var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent([]) })
        {
            // Want-Repr-Digest: the upload tracks its SHA-256, which the event then carries.
            create.Headers.Add("Upload-Draft-Interop-Version", "8");
            create.Headers.Add("Upload-Complete", "?0");
            create.Headers.Add("Upload-Length", size.ToString(System.Globalization.CultureInfo.InvariantCulture));
            create.Headers.Add("Want-Repr-Digest", "sha-256=10");
            using var created = await client.SendAsync(create, Ct);
            Assert.Equal(System.Net.HttpStatusCode.Created, created.StatusCode);
            upload = new Uri(client.BaseAddress, created.Headers.Location!);
        }

        Assert.Equal(size, await IetfUploadRequests.AppendAsync(client, upload, seed, 0, size, size, Ct));
        var path = upload.AbsolutePath;
        return (path[(path.LastIndexOf('/') + 1)..], Convert.ToBase64String(Convert.FromHexString(DeterministicData.Sha256(seed, size))));
    }

    private async Task<UploadRecord?> ReadRecordAsync(string id)
    {
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = Path.Combine(_data, "host", "meta", "storagebridge.db") });
        return await store.GetAsync(id, Ct);
    }

    private async Task<EventDelivery> WaitForDeliveryAsync(string id, Func<EventDelivery, bool> outcome)
    {
        while (true)
        {
            Ct.ThrowIfCancellationRequested();
            if ((await ReadRecordAsync(id))?.Outbox?.Deliveries.Single() is { } delivery && outcome(delivery))
            {
                return delivery;
            }

            await Task.Delay(50, Ct);
        }
    }

    private async Task WaitForOutputAsync(HostProcess host, string text)
    {
        while (!host.Output.Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(50, Ct);
        }
    }

    /// <summary>The body is the documented camelCase event with every field of this upload.</summary>
    private static void AssertEvent(byte[] body, string id, string sha256, long size)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal(id + ":completed", root.GetProperty("idempotencyKey").GetString());
        Assert.Equal(id, root.GetProperty("uploadId").GetString());
        Assert.Equal("default", root.GetProperty("target").GetString());
        Assert.EndsWith("files", root.GetProperty("location").GetString(), StringComparison.Ordinal);
        Assert.Equal(id, root.GetProperty("objectKey").GetString());
        Assert.Equal(size, root.GetProperty("size").GetInt64());
        Assert.Equal(sha256, root.GetProperty("checksums").GetProperty("sha-256").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("principal").ValueKind);
        Assert.True(root.GetProperty("completedAt").GetDateTimeOffset() > DateTimeOffset.UnixEpoch);
        Assert.Equal(JsonValueKind.Object, root.GetProperty("metadata").ValueKind);
    }
}
