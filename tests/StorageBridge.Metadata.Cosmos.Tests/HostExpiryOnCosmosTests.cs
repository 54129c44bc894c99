using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Azure.Cosmos;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>The Host's cleanup service finds expiring uploads through the Cosmos store's expiry scan.</summary>
[Collection(CosmosCollection.Name)]
public sealed class HostExpiryOnCosmosTests(CosmosEmulatorFixture emulator, ITestOutputHelper output)
{
    [Fact]
    public async Task An_abandoned_upload_is_expired_by_the_cleanup_service_its_bytes_dropped_and_its_tombstone_kept()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var ct = timeout.Token;
        var container = "c" + Guid.NewGuid().ToString("N");
        await using var host = await HostProcess.StartAsync(new HostProcessOptions
        {
            Environment = new Dictionary<string, string?>
            {
                ["StorageBridge__Metadata__Provider"] = "Cosmos",
                ["StorageBridge__Metadata__Endpoint"] = emulator.Endpoint.AbsoluteUri,
                ["StorageBridge__Metadata__Key"] = emulator.Key,
                ["StorageBridge__Metadata__ConnectionMode"] = "Gateway",
                ["StorageBridge__Metadata__AcceptAnyServerCertificate"] = emulator.AcceptAnyServerCertificate ? "true" : "false",
                ["StorageBridge__Metadata__Database"] = "sb-expiry",
                ["StorageBridge__Metadata__Container"] = container,
                ["StorageBridge__Targets__default__Expiration"] = "2s",
                ["StorageBridge__CleanupInterval"] = "1s",
            },
            OutputSink = line => output.WriteLine(line),
        }, ct);
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress };

        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/default") { Content = new ByteArrayContent(new byte[1000]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", "5000");
        using var created = await client.SendAsync(create, ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var path = created.Headers.Location!.OriginalString;
        var id = path[(path.LastIndexOf('/') + 1)..];

        // The item carries the expiry the scan queries on.
        using var inspector = emulator.CreateClient();
        var items = inspector.GetContainer("sb-expiry", container);
        var before = (await items.ReadItemAsync<Newtonsoft.Json.Linq.JObject>(id, new PartitionKey(id), cancellationToken: ct)).Resource;
        Assert.Equal("Open", (string?)before["state"]);
        Assert.NotNull(before["expiresAtMs"]);

        // Within a few cleanup passes after the expiry the record becomes an Expired tombstone and the staged bytes go.
        string? state = null;
        var staging = Path.Combine(host.TargetRoot, ".staging");
        Assert.NotEmpty(Directory.GetFiles(staging, id + "*"));
        string[] Staged() => Directory.Exists(staging) ? Directory.GetFiles(staging, id + "*") : [];

        // The tombstone is written before the bytes are dropped (a crash in between leaves a tombstone whose bytes the
        // next pass drops), so wait for both rather than read the folder the moment the state flips.
        for (var i = 0; i < 100 && (state != "Expired" || Staged().Length > 0); i++)
        {
            await Task.Delay(200, ct);
            var item = (await items.ReadItemAsync<Newtonsoft.Json.Linq.JObject>(id, new PartitionKey(id), cancellationToken: ct)).Resource;
            state = (string?)item["state"];
        }

        Assert.Equal("Expired", state);
        Assert.Empty(Staged());
        using var head = new HttpRequestMessage(HttpMethod.Head, path);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var gone = await client.SendAsync(head, ct);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);

        using var append = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new ByteArrayContent(new byte[10]) };
        append.Headers.Add("Upload-Draft-Interop-Version", "8");
        append.Headers.Add("Upload-Offset", 1000.ToString(CultureInfo.InvariantCulture));
        append.Headers.Add("Upload-Complete", "?0");
        append.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var refused = await client.SendAsync(append, ct);
        Assert.Equal(HttpStatusCode.Gone, refused.StatusCode);
    }
}
