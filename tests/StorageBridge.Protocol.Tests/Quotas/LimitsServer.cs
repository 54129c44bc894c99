using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;

namespace StorageBridge.Protocol.Tests.Quotas;

/// <summary>
/// A real Kestrel on 127.0.0.1 with the upload endpoints under <c>/uploads</c>, SQLite metadata and the given settings.
/// Requests with <c>X-Test-User: name</c> are authenticated as that user (authentication type "Test"), standing in for
/// the real authentication handlers: per-principal limits only need <c>HttpContext.User</c>.
/// </summary>
public sealed class LimitsServer : IAsyncDisposable
{
    public const string UserHeader = "X-Test-User";

    private readonly WebApplication _app;

    private LimitsServer(WebApplication app, HttpClient client)
    {
        _app = app;
        Client = client;
    }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<LimitsServer> StartAsync(
        IDictionary<string, string?> settings, Action<WebApplicationBuilder>? configureServices = null, Action<WebApplication>? map = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Services.AddStorageBridge(builder.Configuration).UseSqliteMetadata();
        configureServices?.Invoke(builder);
        var app = builder.Build();
        app.Use((context, next) =>
        {
            if (context.Request.Headers[UserHeader].ToString() is { Length: > 0 } user)
            {
                context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, user)], "Test"));
            }

            return next(context);
        });
        if (map is null)
        {
            app.MapResumableUploads("/uploads");
        }
        else
        {
            map(app);
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(address + "/"), Timeout = TimeSpan.FromSeconds(60) };
        return new LimitsServer(app, client);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}

internal static class LimitsRequests
{
    public static HttpRequestMessage As(this HttpRequestMessage request, string? user)
    {
        if (user is not null)
        {
            request.Headers.TryAddWithoutValidation(LimitsServer.UserHeader, user);
        }

        return request;
    }

    public static int RetryAfterSeconds(HttpResponseMessage response)
    {
        var delta = response.Headers.RetryAfter?.Delta;
        Assert.True(delta is not null, "429 without Retry-After in seconds");
        Assert.True(delta.Value.TotalSeconds >= 1, $"Retry-After {delta} is not a whole number of seconds >= 1");
        return (int)delta.Value.TotalSeconds;
    }
}
