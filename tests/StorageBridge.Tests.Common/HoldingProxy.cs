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
/// An HTTP forwarder between a Host process and a cloud endpoint (S3, Azurite), for crash tests. After
/// <see cref="HoldNext"/>, the next matching request is forwarded and answered by the service (its effect IS stored),
/// then the answer is held back until the caller disconnects, so a test can kill the host between a storage write and
/// the metadata write that would record it. Request signatures survive: the path, query and headers (Host included)
/// are forwarded as the client signed them.
/// </summary>
public sealed class HoldingProxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Uri target;
    private readonly Lock gate = new();
    private Func<HttpRequest, bool>? holdMatch;
    private TaskCompletionSource<string>? held;

    private HoldingProxy(Uri target)
    {
        this.target = target;
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

    /// <summary>Called for every request before it is forwarded (counting, logging).</summary>
    public Action<HttpRequest>? Observe { get; set; }

    /// <param name="target">Base URI of the service; request paths are appended to it as they arrive.</param>
    public static async Task<HoldingProxy> StartAsync(Uri target)
    {
        var proxy = new HoldingProxy(target);
        await proxy.app.StartAsync();
        proxy.Address = new Uri(proxy.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return proxy;
    }

    /// <summary>
    /// Holds the answer of the next request <paramref name="match"/> accepts. The task completes, with the request's
    /// path and query, once the service has answered that request (2xx or not) and the answer is being held.
    /// </summary>
    public Task<string> HoldNext(Func<HttpRequest, bool> match)
    {
        var completion = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            holdMatch = match;
            held = completion;
        }

        return completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await app.StopAsync(stop.Token);
        await app.DisposeAsync();
        upstream.Dispose();
    }

    private TaskCompletionSource<string>? TakeHold(HttpRequest request)
    {
        lock (gate)
        {
            if (holdMatch is null || !holdMatch(request))
            {
                return null;
            }

            holdMatch = null;
            var completion = held;
            held = null;
            return completion;
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        Observe?.Invoke(request);
        var hold = TakeHold(request);
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
        if (hold is not null)
        {
            hold.TrySetResult(request.Path + request.QueryString);
            await Task.Delay(Timeout.Infinite, context.RequestAborted); // until the client (the killed host) goes away
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
