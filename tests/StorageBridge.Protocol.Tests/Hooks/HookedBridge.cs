using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using StorageBridge.AspNetCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.Metadata;
using StorageBridge.Protocol.Tests.Interim;

namespace StorageBridge.Protocol.Tests.Hooks;

/// <summary>What the webhook receiver got: the raw body and the signature header.</summary>
internal sealed record ReceivedHook(byte[] Body, string? Signature, string? ContentType);

/// <summary>
/// A real Kestrel receiver for the pre-create webhook (its answer is <see cref="Answer"/>) and a bridge on Kestrel whose
/// <c>StorageBridge:Hooks:PreCreate</c> points at it: file target "files" with prefix "in/", in-memory metadata.
/// </summary>
internal sealed class HookedBridge : IAsyncDisposable
{
    public const string Secret = "a-test-secret-of-more-than-32-characters!";
    public const string Target = "files";
    public const string Prefix = "in/";

    private readonly LoopbackKestrel _receiver;
    private readonly WebApplication _bridge;

    private readonly ConcurrentQueue<EventId> _logged;

    private HookedBridge(LoopbackKestrel receiver, WebApplication bridge, string root, Uri baseAddress, ConcurrentQueue<EventId> logged)
    {
        _logged = logged;
        _receiver = receiver;
        _bridge = bridge;
        Root = root;
        Client = new HttpClient { BaseAddress = baseAddress };
    }

    /// <summary>The receiver's answer to each hook call (default: 204, accept as is).</summary>
    public Func<ReceivedHook, HttpContext, Task> Answer { get; set; } = (_, context) =>
    {
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    };

    public ConcurrentQueue<ReceivedHook> Received { get; } = new();

    public string Root { get; }

    public HttpClient Client { get; }

    public IUploadMetadataStore Store => _bridge.Services.GetRequiredService<IUploadMetadataStore>();

    /// <summary>Starts both; <paramref name="webhookUrl"/> replaces the receiver's URL (an unreachable one).</summary>
    public static async Task<HookedBridge> StartAsync(string? webhookUrl = null, string timeout = "1s", Action<IStorageBridgeBuilder>? bridge = null)
    {
        HookedBridge? self = null;
        var receiver = await LoopbackKestrel.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var received = new ReceivedHook(body.ToArray(), context.Request.Headers["StorageBridge-Signature"].ToString(), context.Request.ContentType);
            self!.Received.Enqueue(received);
            await self.Answer(received, context);
        });
        var root = Directory.CreateTempSubdirectory("sb-hooks-").FullName;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Hooks:PreCreate:Url"] = webhookUrl ?? new Uri(receiver.BaseAddress, "hooks/pre-create").ToString(),
            ["StorageBridge:Hooks:PreCreate:Secret"] = Secret,
            ["StorageBridge:Hooks:PreCreate:Timeout"] = timeout,
        });
        builder.Logging.ClearProviders();
        var logged = new ConcurrentQueue<EventId>();
        builder.Logging.AddProvider(new EventCollector(logged));
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var storageBridge = builder.Services.AddStorageBridge(builder.Configuration)
            .AddFileSystemTarget(Target, o =>
            {
                o.Root = root;
                o.Prefix = Prefix;
            })
            .UseInMemoryMetadata();
        bridge?.Invoke(storageBridge);
        var app = builder.Build();
        app.MapResumableUploads();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        self = new HookedBridge(receiver, app, root, new Uri(address + "/"), logged);
        return self;
    }

    /// <summary>Event ids the bridge logged (Information and above).</summary>
    public IReadOnlyList<int> LoggedIds => [.. _logged.Select(e => e.Id)];

    /// <summary>Every file below the target's root (objects and staging data).</summary>
    public string[] Files() => Directory.Exists(Root) ? Directory.GetFiles(Root, "*", SearchOption.AllDirectories) : [];

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            try
            {
                await _bridge.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _bridge.DisposeAsync();
        await _receiver.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }

    private sealed class EventCollector(ConcurrentQueue<EventId> events) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            events.Enqueue(eventId);

        public void Dispose()
        {
        }
    }
}
