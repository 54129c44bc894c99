using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Backends.AzureBlob.Tests;
using StorageBridge.Metadata.Cosmos.Tests;
using StorageBridge.Tests;

namespace StorageBridge.Functions.Tests;

/// <summary>
/// The Function App's completion events: Cosmos DB holds the outbox, and with no hosted dispatcher
/// (<c>Events:DispatchInterval: none</c>) only the Events timer function delivers it, to a real webhook receiver.
/// </summary>
[Collection(CosmosCollection.Name)]
public sealed class EventTimerFunctionTests(CosmosEmulatorFixture cosmos, AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private const string Database = "sb-functions";
    private const string Secret = "functions-webhook-secret-0123456789-abcdef";
    private readonly string _records = "fe" + Guid.NewGuid().ToString("N")[..12];
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(3));
    private WebhookReceiver _receiver = null!;
    private FunctionsTestHost _host = null!;

    public async Task InitializeAsync()
    {
        _receiver = await WebhookReceiver.StartAsync(Secret, _timeout.Token);
        _host = await FunctionsTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "Cosmos",
            ["StorageBridge:Metadata:Endpoint"] = cosmos.Endpoint.AbsoluteUri,
            ["StorageBridge:Metadata:Key"] = cosmos.Key,
            ["StorageBridge:Metadata:ConnectionMode"] = "Gateway",
            ["StorageBridge:Metadata:AcceptAnyServerCertificate"] = cosmos.AcceptAnyServerCertificate ? "true" : "false",
            ["StorageBridge:Metadata:Database"] = Database,
            ["StorageBridge:Metadata:Container"] = _records,
            ["StorageBridge:CleanupInterval"] = "30d",
            ["StorageBridge:Targets:default:Backend"] = "AzureBlob",
            ["StorageBridge:Targets:default:ConnectionString"] = azurite.ConnectionString,
            ["StorageBridge:Targets:default:Container"] = azurite.ContainerName,
            ["StorageBridge:Targets:default:Auth:Anonymous"] = "true",
            ["StorageBridge:Events:DispatchInterval"] = "none",
            ["StorageBridge:Events:Sinks:app:Type"] = "Webhook",
            ["StorageBridge:Events:Sinks:app:Url"] = _receiver.Url.ToString(),
            ["StorageBridge:Events:Sinks:app:Secret"] = Secret,
        });
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
        _timeout.Dispose();
        using var inspector = cosmos.CreateClient();
        await inspector.GetContainer(Database, _records).DeleteContainerStreamAsync();
    }

    [Fact]
    public async Task The_events_timer_delivers_a_completion_recorded_in_Cosmos_once()
    {
        var ct = _timeout.Token;
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = _host.BaseAddress };
        var upload = await IetfUploadRequests.CreateAsync(client, "uploads/default", 4_000, ct);
        await IetfUploadRequests.AppendAsync(client, upload, 0xE7, 0, 4_000, 4_000, ct);
        var id = upload.AbsolutePath.Split('/')[^1];
        Assert.Empty(_receiver.Deliveries);

        var functions = ActivatorUtilities.CreateInstance<EventFunctions>(_host.Services);
        var round = await functions.RunEventsAsync(new TimerInfo(), ct);
        var again = await functions.RunEventsAsync(new TimerInfo(), ct);

        Assert.Equal((1, 0, 0), (round.Delivered, round.Failed, round.DeadLettered));
        Assert.Equal(0, again.Due);
        Assert.Equal((1, 1), _receiver.CountsOf(id + ":completed"));
        var delivery = _receiver.Deliveries.Single();
        Assert.True(delivery.SignatureValid);
        using var json = JsonDocument.Parse(delivery.Body);
        Assert.Equal(azurite.ContainerName, json.RootElement.GetProperty("location").GetString());
        Assert.Equal(4_000, json.RootElement.GetProperty("size").GetInt64());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("checksums").GetProperty("etag").GetString()));
    }
}
