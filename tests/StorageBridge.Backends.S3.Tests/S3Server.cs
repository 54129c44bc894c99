using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Backends;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// A real Kestrel on 127.0.0.1 (ephemeral port) with the upload endpoints under <c>/uploads</c> and two S3 targets
/// configured only through configuration keys (so the factory, AddStorageBridgeS3 and one client per target are
/// exercised): <c>web</c> in the endpoint's bucket, <c>other</c> in a second bucket created on first use,
/// <c>templated</c> with the key template <c>{yyyy}/{MM}/{id}/{filename}</c>.
/// </summary>
public sealed class S3Server : IAsyncDisposable
{
    private readonly WebApplication app;

    private S3Server(WebApplication app, Uri baseAddress, string otherBucket, S3FaultInjector faults)
    {
        Faults = faults;
        this.app = app;
        BaseAddress = baseAddress;
        OtherBucket = otherBucket;
        Client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(1) };
    }

    public Uri BaseAddress { get; }

    /// <summary>The HTTP pipeline of the targets' S3 clients (pass-through until a fault is set; reset it after use).</summary>
    public S3FaultInjector Faults { get; }

    public HttpClient Client { get; }

    /// <summary>Bucket of the <c>other</c> target.</summary>
    public string OtherBucket { get; }

    public static async Task<S3Server> StartAsync(S3Endpoint endpoint)
    {
        var otherBucket = endpoint.IsExternal ? endpoint.Bucket : "sb-other-" + Guid.NewGuid().ToString("N")[..16];
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:CleanupInterval"] = "1s",
        };
        foreach (var (key, value) in endpoint.TargetSettings("web"))
        {
            settings[key] = value;
        }

        foreach (var (key, value) in endpoint.TargetSettings("other"))
        {
            settings[key] = value;
        }

        foreach (var (key, value) in endpoint.TargetSettings("templated"))
        {
            settings[key] = value;
        }

        settings["StorageBridge:Targets:templated:KeyTemplate"] = "{yyyy}/{MM}/{id}/{filename}";
        settings["StorageBridge:Targets:other:Bucket"] = otherBucket;
        settings["StorageBridge:Targets:other:CreateBucketIfMissing"] = "true";
        settings["StorageBridge:Targets:other:PartSize"] = "5MiB";

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        builder.Services.AddStorageBridgeS3();

        // Every S3 target's client gets a fault-injecting HTTP pipeline (an option set in code, beside the configuration).
        var faults = new S3FaultInjector();
        builder.Services.ConfigureAll<S3TargetOptions>(o => o.HttpClientFactory = faults);

        var app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new S3Server(app, new Uri(address + "/"), otherBucket, faults);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
    }
}
