using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (ephemeral port) hosting the upload endpoints under <c>/uploads</c>, with
/// targets: <c>default</c>, <c>small</c> (max 1024 bytes), <c>limited</c> (appends 16..4096 bytes), <c>short</c>
/// (2 s expiry), <c>no104</c> (no interim responses) and <c>deleting</c> (DELETE of a completed upload deletes its object). Real Kestrel, not TestServer: 104 needs a real connection.
/// </summary>
public sealed class IetfServerFixture : IAsyncLifetime
{
    public const string Prefix = "/uploads";

    private WebApplication? _app;
    private HttpClient? _client;

    public TempDirectory Root { get; } = new("storagebridge-ietf");

    public HttpClient Client => _client ?? throw new InvalidOperationException("Server not started.");

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    public int Port => BaseAddress.Port;

    /// <summary>The running server's services (the metadata store, to plant records older versions wrote).</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("Server not started.");

    /// <summary>Folder of a target's backend root.</summary>
    public string TargetRoot(string target) => Root.Combine(target);

    /// <summary>Staging folder of an upload (file backend): <c>{Root}/.staging/{id}</c>.</summary>
    /// <summary>The file backend stages an upload's bytes in one flat file, <c>{Root}/.staging/{id}</c>.</summary>
    public string StagingFile(string target, string id) => Path.Combine(TargetRoot(target), ".staging", id);

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:CleanupInterval"] = "1s",
            ["StorageBridge:TakeoverWait"] = "10s",
            ["StorageBridge:LeaseDuration"] = "15s",
            ["StorageBridge:Targets:default:Backend"] = "FileSystem",
            ["StorageBridge:Targets:default:Root"] = TargetRoot("default"),
            ["StorageBridge:Targets:small:Root"] = TargetRoot("small"),
            ["StorageBridge:Targets:small:MaxUploadSize"] = "1024",
            ["StorageBridge:Targets:limited:Root"] = TargetRoot("limited"),
            ["StorageBridge:Targets:limited:MaxAppendSize"] = "4096",
            ["StorageBridge:Targets:limited:MinAppendSize"] = "16",
            ["StorageBridge:Targets:short:Root"] = TargetRoot("short"),
            ["StorageBridge:Targets:short:Expiration"] = "2s",
            ["StorageBridge:Targets:no104:Root"] = TargetRoot("no104"),
            ["StorageBridge:Targets:no104:InterimResponses"] = "false",
            ["StorageBridge:Targets:deleting:Root"] = TargetRoot("deleting"),
            ["StorageBridge:Targets:deleting:OnCancelCompleted"] = "DeleteObject",
        };

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();

        _app = builder.Build();
        _app.MapResumableUploads(Prefix);
        await _app.StartAsync();

        var addresses = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }

        Root.Dispose();
    }
}

/// <summary>All IETF tests share one server and run one after another (timing-sensitive socket tests included).</summary>
[CollectionDefinition(Name)]
public sealed class IetfServerCollection : ICollectionFixture<IetfServerFixture>
{
    public const string Name = "IETF server";
}
