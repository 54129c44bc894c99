using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Hostile;

/// <summary>
/// A real Kestrel server for hostile-input and race tests: SQLite metadata, file targets <c>default</c> (1 MiB parts)
/// and <c>chunks</c> (Resumable.js). Kestrel's minimum body data rate has a short grace period (2 s) so a stalled body
/// is refused within seconds. Errors the server logs are collected: a test can assert none was logged.
/// </summary>
public sealed class HostileServerFixture : IAsyncLifetime
{
    public const string Prefix = "/uploads";

    private WebApplication? _app;
    private HttpClient? _client;

    public TempDirectory Root { get; } = new("storagebridge-hostile");

    public HttpClient Client => _client ?? throw new InvalidOperationException("Server not started.");

    public int Port { get; private set; }

    /// <summary>Every error (or worse) the server logged, with its exception.</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>
    /// Errors StorageBridge logged (Kestrel's own are left out: it logs "automatic draining of the request body failed"
    /// after every superseded request whose body read was cancelled, which is expected).
    /// </summary>
    public IReadOnlyList<string> StorageBridgeErrors => [.. Errors.Where(e => e.StartsWith("StorageBridge", StringComparison.Ordinal))];

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "Sqlite",
            ["StorageBridge:Metadata:Path"] = Root.Combine("metadata.db"),
            ["StorageBridge:TakeoverWait"] = "10s",
            ["StorageBridge:LeaseDuration"] = "15s",
            ["StorageBridge:Targets:default:Backend"] = "FileSystem",
            ["StorageBridge:Targets:default:Root"] = Root.Combine("default"),
            ["StorageBridge:Targets:default:PartSize"] = "1MiB",
        };

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddProvider(new ErrorCollector(Errors));
        builder.WebHost.UseKestrel(options =>
        {
            options.Listen(IPAddress.Loopback, 0);
            options.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 100, gracePeriod: TimeSpan.FromSeconds(2));
        });
        builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();

        _app = builder.Build();
        _app.MapResumableUploads(Prefix);
        await _app.StartAsync();

        var address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Port = address.Port;
        _client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, MaxConnectionsPerServer = 64 })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{Port}/"),
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

    private sealed class ErrorCollector(ConcurrentQueue<string> errors) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(errors, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> errors, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    errors.Enqueue($"{category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}

/// <summary>The hostile-input and race tests share one server and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class HostileServerCollection : ICollectionFixture<HostileServerFixture>
{
    public const string Name = "Hostile server";
}
