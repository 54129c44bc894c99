using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StorageBridge.Tests;

/// <summary>
/// An HTTP forwarder between a Host process and a cloud endpoint (emulator), for crash tests. After
/// <see cref="HoldNext"/>, the next request the predicate names is forwarded and answered upstream (its effect IS
/// stored), then the answer is held back until the caller's connection dies: the test kills the host between "the
/// cloud stored it" and "the metadata store recorded it". Headers go through unchanged (Host included: signatures
/// cover it, and emulators build URIs from it).
/// </summary>
public sealed class HoldingProxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Uri target;
    private readonly Action<HttpRequest>? observe;
    private Func<HttpRequest, string?>? hold;

    private HoldingProxy(Uri target, Action<HttpRequest>? observe)
    {
        this.target = target;
        this.observe = observe;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, 0);
            o.Limits.MaxRequestBodySize = null;
        });
        app = builder.Build();
        app.Run(ForwardAsync);
    }

    /// <summary>http://127.0.0.1:{port}/ of the proxy.</summary>
    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completed with the held request's name (what the predicate returned) once upstream answered it.</summary>
    public TaskCompletionSource<string> StoredAndHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Forwards to <paramref name="target"/> (scheme, host and port; the path is the request's own).</summary>
    /// <param name="observe">Called for every request before it is forwarded (counting, recording).</param>
    public static async Task<HoldingProxy> StartAsync(Uri target, Action<HttpRequest>? observe = null)
    {
        var proxy = new HoldingProxy(new Uri(target.GetLeftPart(UriPartial.Authority)), observe);
        await proxy.app.StartAsync();
        proxy.Address = new Uri(proxy.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return proxy;
    }

    /// <summary>Holds the answer to the next request for which <paramref name="match"/> returns a name (null: pass it on).</summary>
    public void HoldNext(Func<HttpRequest, string?> match)
    {
        StoredAndHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref hold, match);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        upstream.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        observe?.Invoke(request);
        var match = Volatile.Read(ref hold);
        var held = match?.Invoke(request);
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(target, request.Path + request.QueryString));
        if (request.ContentLength is not null || request.Headers.TransferEncoding.Count > 0)
        {
            forward.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (name.Equals("Expect", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                forward.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await upstream.SendAsync(forward, HttpCompletionOption.ResponseContentRead, context.RequestAborted);
        if (held is not null && Interlocked.CompareExchange(ref hold, null, match) == match)
        {
            StoredAndHeld.TrySetResult(held);
            await Task.Delay(Timeout.Infinite, context.RequestAborted); // until the host dies
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }
}
