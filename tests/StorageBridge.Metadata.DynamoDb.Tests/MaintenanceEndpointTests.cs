using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Tests;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>
/// The Lambda profile's expiry: the hosted timer switched off, and <c>POST /maintenance/expire</c> (what an EventBridge
/// schedule calls) running one sweep when it carries the shared secret. On a DynamoDB table, with a fake clock.
/// </summary>
[Collection(MotoCollection.Name)]
public sealed class MaintenanceEndpointTests(MotoFixture moto) : IAsyncLifetime
{
    private const string Secret = "maintenance-secret-0123456789abcdefXYZ";
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly string _files = Directory.CreateTempSubdirectory("sb-maintenance-").FullName;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero));
    private readonly List<WebApplication> _apps = [];
    private DynamoDbMetadataOptions _store = null!;

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync()
    {
        _store = moto.Options();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        Directory.Delete(_files, recursive: true);
        _timeout.Dispose();
    }

    [Fact]
    public async Task Expire_with_the_secret_sweeps_due_uploads_and_without_it_answers_403_and_does_nothing()
    {
        var (app, client) = await StartAsync(new() { ["StorageBridge:Maintenance:Secret"] = Secret, ["StorageBridge:Maintenance:ExpiryTimer"] = "false" });
        var upload = await IetfUploadRequests.CreateAsync(client, "uploads/default", 1_000, Ct);
        var id = upload.Segments[^1];
        _clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1)); // past the target's Expiration (1d)
        using var store = new DynamoDbUploadMetadataStore(_store);

        foreach (var secret in new[] { null, "", Secret[..^1], Secret + "x", Secret.ToUpperInvariant() })
        {
            using var refused = await ExpireAsync(client, secret);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal(UploadState.Open, (await store.GetAsync(id, Ct))!.State);
        }

        using (var response = await ExpireAsync(client, Secret))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("{\"handled\":1,\"more\":false}", await response.Content.ReadAsStringAsync(Ct));
        }

        Assert.Equal(UploadState.Expired, (await store.GetAsync(id, Ct))!.State);
        using (var response = await ExpireAsync(client, Secret))
        {
            Assert.Equal("{\"handled\":0,\"more\":false}", await response.Content.ReadAsStringAsync(Ct));
        }

        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await client.GetAsync("maintenance/expire", Ct)).StatusCode);
        _ = app;
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("short-secret")]
    [InlineData("                                        ")]
    public async Task The_endpoint_is_not_mapped_without_a_long_enough_secret(string? secret)
    {
        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(
            () => StartAsync(new() { ["StorageBridge:Maintenance:Secret"] = secret }));

        Assert.Equal("StorageBridge:Maintenance:Secret", error.Key);
    }

    [Fact]
    public async Task ExpiryTimer_false_stops_the_hosted_sweep_and_the_default_keeps_it_running()
    {
        var (off, _) = await StartAsync(new() { ["StorageBridge:Maintenance:Secret"] = Secret, ["StorageBridge:Maintenance:ExpiryTimer"] = "false" });
        var (on, _) = await StartAsync(new() { ["StorageBridge:Maintenance:Secret"] = Secret });

        // The sweep is a BackgroundService: off, it returns at once; on, it waits for the next tick of the (fake) clock.
        Assert.True(ExpiryService(off).ExecuteTask!.IsCompletedSuccessfully);
        Assert.False(ExpiryService(on).ExecuteTask!.IsCompleted);
    }

    private static BackgroundService ExpiryService(WebApplication app) =>
        app.Services.GetServices<IHostedService>().OfType<BackgroundService>().Single(s => s.GetType().Name == "ExpiryCleanupService");

    private static async Task<HttpResponseMessage> ExpireAsync(HttpClient client, string? secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "maintenance/expire");
        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation(MaintenanceEndpoints.SecretHeader, secret);
        }

        return await client.SendAsync(request);
    }

    private async Task<(WebApplication App, HttpClient Client)> StartAsync(Dictionary<string, string?> settings)
    {
        settings["StorageBridge:Targets:default:Root"] = _files;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        builder.Services.AddSingleton<TimeProvider>(_clock);
        builder.Services.AddStorageBridge(builder.Configuration).UseDynamoDbMetadata(o =>
        {
            o.TableName = _store.TableName;
            o.ServiceUrl = _store.ServiceUrl;
            o.Region = _store.Region;
            o.AccessKey = _store.AccessKey;
            o.SecretKey = _store.SecretKey;
            o.CreateTable = true;
        });
        var app = builder.Build();
        app.MapResumableUploads("/uploads");
        app.MapStorageBridgeMaintenance("/maintenance");
        _apps.Add(app);
        await app.StartAsync(Ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, new HttpClient { BaseAddress = new Uri(address + "/") });
    }
}
