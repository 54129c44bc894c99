using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Metadata;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>The bridge on a real Kestrel (loopback, free port) with one <c>Backend: Gcs</c> target <c>gcs</c> on the emulator.</summary>
public sealed class GcsBridgeServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private GcsBridgeServer(WebApplication app, Uri baseAddress)
    {
        this.app = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>The bridge's metadata store (in memory), to look at upload records.</summary>
    public IUploadMetadataStore Store => app.Services.GetRequiredService<IUploadMetadataStore>();

    /// <summary>Starts the bridge; <paramref name="target"/> adds or overrides keys of the <c>gcs</c> target.</summary>
    public static async Task<GcsBridgeServer> StartAsync(GcsEmulatorHost emulator, IReadOnlyDictionary<string, string?>? target = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:gcs:Backend"] = "Gcs",
            ["StorageBridge:Targets:gcs:Bucket"] = emulator.Bucket,
            ["StorageBridge:Targets:gcs:BaseUri"] = emulator.BaseUri,
            ["StorageBridge:Targets:gcs:PartSize"] = "256KiB",
            ["StorageBridge:Targets:gcs:KeyTemplate"] = "ietf/{id}",
        };
        foreach (var (key, value) in target ?? new Dictionary<string, string?>())
        {
            settings["StorageBridge:Targets:gcs:" + key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Limits.MaxRequestBodySize = null;
        });
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        builder.Services.AddGcsBackend();
        var app = builder.Build();
        app.MapResumableUploads("/uploads");
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GcsBridgeServer(app, new Uri(address + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
