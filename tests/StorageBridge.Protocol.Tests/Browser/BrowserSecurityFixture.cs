using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Diagnostics;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// A real Kestrel server for the CORS and download tests. The bridge is <see cref="Bridge"/> (http://127.0.0.1:P);
/// the same server also serves the cross-origin test page under <c>/page/</c>, reached as http://localhost:P (the
/// allowed origin: another host name is another origin) and on a second port Q as http://localhost:Q (an origin no
/// target allows). Targets (files): <c>open</c> and <c>guarded</c> allow http://localhost:P (guarded is only ever
/// refused, so it must stay empty), <c>closed</c> has no Cors section (same-origin only), <c>anyone</c> allows
/// <c>*</c>, <c>nodownloads</c> turns downloads off, <c>keyed</c> allows http://localhost:P for the API keys
/// <see cref="AliceKey"/> and <see cref="MalloryKey"/> only.
/// </summary>
public sealed class BrowserSecurityFixture : IAsyncLifetime
{
    public const long MaxUploadSize = 64 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, long> _created = new();
    private readonly ConcurrentDictionary<string, long> _appended = new();
    private readonly ConcurrentDictionary<string, long> _completed = new();
    private readonly MeterListener _listener = new();
    private readonly SemaphoreSlim _bundleLock = new(1, 1);
    private WebApplication? _app;
    private byte[]? _bundle;

    /// <summary>API keys of the <c>keyed</c> target (which allows the same origin as <c>open</c>, for two principals).</summary>
    public const string AliceKey = "alice-3f6c2a9e51d84b7c9e0f1a2b3c4d5e6f";
    public const string MalloryKey = "mallory-8e1d2c3b4a5f60718293a4b5c6d7e8f9";

    public TempDirectory Root { get; } = new("storagebridge-browsers");

    public int Port { get; private set; }

    public int OtherPort { get; private set; }

    /// <summary>The bridge as clients address it: http://127.0.0.1:P/.</summary>
    public Uri Bridge => new($"http://127.0.0.1:{Port}/");

    /// <summary>The origin every Cors-enabled target (but <c>anyone</c>'s "*") allows: http://localhost:P.</summary>
    public string AllowedOrigin => $"http://localhost:{Port}";

    /// <summary>An origin no target allows (the second port): http://localhost:Q.</summary>
    public string OtherOrigin => $"http://localhost:{OtherPort}";

    public HttpClient Client { get; } = new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };

    /// <summary>Uploads created on <paramref name="target"/> so far (the engine's storagebridge.uploads_created).</summary>
    public long CreatedOn(string target) => _created.GetValueOrDefault(target);

    /// <summary>Bytes appended on <paramref name="target"/> so far (storagebridge.bytes_appended).</summary>
    public long AppendedOn(string target) => _appended.GetValueOrDefault(target);

    /// <summary>Uploads completed on <paramref name="target"/> so far (storagebridge.uploads_completed).</summary>
    public long CompletedOn(string target) => _completed.GetValueOrDefault(target);

    /// <summary>Files under the target's root (objects and staged bytes).</summary>
    public int FilesIn(string target) =>
        Directory.Exists(Root.Combine(target)) ? Directory.EnumerateFiles(Root.Combine(target), "*", SearchOption.AllDirectories).Count() : 0;

    public async Task InitializeAsync()
    {
        StartCounting();
        Port = FreePort();
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "InMemory",
            ["StorageBridge:Targets:open:Root"] = Root.Combine("open"),
            ["StorageBridge:Targets:open:MaxUploadSize"] = MaxUploadSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["StorageBridge:Targets:open:Cors:AllowedOrigins:0"] = AllowedOrigin,
            ["StorageBridge:Targets:open:Cors:MaxAge"] = "10m",
            ["StorageBridge:Targets:guarded:Root"] = Root.Combine("guarded"),
            ["StorageBridge:Targets:guarded:Cors:AllowedOrigins"] = AllowedOrigin,
            ["StorageBridge:Targets:closed:Root"] = Root.Combine("closed"),
            ["StorageBridge:Targets:anyone:Root"] = Root.Combine("anyone"),
            ["StorageBridge:Targets:anyone:Cors:AllowedOrigins:0"] = "*",
            ["StorageBridge:Targets:nodownloads:Root"] = Root.Combine("nodownloads"),
            ["StorageBridge:Targets:nodownloads:Downloads"] = "false",
            ["StorageBridge:Targets:keyed:Root"] = Root.Combine("keyed"),
            ["StorageBridge:Targets:keyed:MaxUploadSize"] = MaxUploadSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["StorageBridge:Targets:keyed:Cors:AllowedOrigins:0"] = AllowedOrigin,
            ["StorageBridge:Targets:keyed:Auth:ApiKeys:alice:Sha256"] = KeyHash(AliceKey),
            ["StorageBridge:Targets:keyed:Auth:ApiKeys:mallory:Sha256"] = KeyHash(MalloryKey),
        };

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, Port);
            options.Listen(IPAddress.Loopback, 0);
        });
        builder.Services.AddStorageBridge(builder.Configuration).UseInMemoryMetadata();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<StorageBridge.AspNetCore.Security.ITargetRequestGate, RefusingTestGate>());
        _app = builder.Build();
        _app.MapResumableUploads();
        _app.MapGet("/page/index.html", () => Results.Content(PageHtml, "text/html; charset=utf-8"));
        _app.MapGet("/page/clients.js", async () => Results.Bytes(await BundleAsync(), "text/javascript"));
        await _app.StartAsync();
        OtherPort = _app.Urls.Select(u => new Uri(u.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)).Port).Single(p => p != Port);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        _listener.Dispose();
        if (_app is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _app.StopAsync(stop.Token);
            await _app.DisposeAsync();
        }

        _bundleLock.Dispose();
        Root.Dispose();
    }

    private const string PageHtml = """
        <!doctype html>
        <html><head><meta charset="utf-8"><title>cross-origin clients</title></head>
        <body><input id="file-input" type="file"><script src="clients.js"></script></body></html>
        """;

    /// <summary>tests/clients/cross-origin-clients.mjs bundled by esbuild (tests/clients/build-cross-origin-clients.mjs), once.</summary>
    private async Task<byte[]> BundleAsync()
    {
        await _bundleLock.WaitAsync();
        try
        {
            if (_bundle is null)
            {
                var output = Root.Combine("clients.js");
                var result = await ChildProcess.RunAsync(
                    "node", [Path.Combine(RepositoryLayout.ClientsDirectory, "build-cross-origin-clients.mjs"), output],
                    RepositoryLayout.ClientsDirectory, TimeSpan.FromMinutes(2), CancellationToken.None);
                Assert.True(result.ExitCode == 0, $"bundling the page failed: {result}");
                _bundle = await File.ReadAllBytesAsync(output);
            }

            return _bundle;
        }
        finally
        {
            _bundleLock.Release();
        }
    }

    private void StartCounting()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == StorageBridgeTelemetry.Name && instrument.Name is "storagebridge.uploads_created" or "storagebridge.bytes_appended" or "storagebridge.uploads_completed")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "target", Value: string target })
                {
                    var counts = instrument.Name switch
                    {
                        "storagebridge.uploads_created" => _created,
                        "storagebridge.uploads_completed" => _completed,
                        _ => _appended,
                    };
                    counts.AddOrUpdate(target, value, (_, sum) => sum + value);
                }
            }
        });
        _listener.Start();
    }

    private static string KeyHash(string key) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)));

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>The CORS, download and cross-origin browser tests share one server and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserSecurityCollection : ICollectionFixture<BrowserSecurityFixture>
{
    public const string Name = "Browser security";
}
