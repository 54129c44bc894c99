using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StorageBridge.Backends.Gcs.Tests;

/// <summary>
/// An HTTP forwarder between a Host process and the GCS emulator, for crash tests. Session URIs point at the proxy (the
/// emulator builds them from the Host header, which is forwarded unchanged). After <see cref="HoldNextChunk"/>, the next
/// matching chunk PUT is forwarded and answered by GCS (the bytes ARE persisted), and then its answer is held back until
/// the caller's connection dies: the test kills the host between "GCS accepted the chunk" and the record write.
/// </summary>
public sealed class GcsSessionProxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Uri target;
    private readonly List<string> contentRanges = [];
    private Func<string, bool>? hold;

    private GcsSessionProxy(Uri target)
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

    /// <summary>The JSON-API root to configure as the target's BaseUri.</summary>
    public Uri BaseUri { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completed with the held chunk's Content-Range once GCS has answered it.</summary>
    public TaskCompletionSource<string> ChunkAcceptedAndHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Content-Range of every session PUT so far (chunks and <c>bytes */…</c> status queries), in order.</summary>
    public IReadOnlyList<string> ContentRanges
    {
        get
        {
            lock (contentRanges)
            {
                return [.. contentRanges];
            }
        }
    }

    /// <summary>Holds the answer to the next chunk whose Content-Range matches.</summary>
    public void HoldNextChunk(Func<string, bool> contentRange)
    {
        ChunkAcceptedAndHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref hold, contentRange);
    }

    public static async Task<GcsSessionProxy> StartAsync(string emulatorBaseUri)
    {
        var root = new Uri(emulatorBaseUri);
        var proxy = new GcsSessionProxy(new Uri(root.GetLeftPart(UriPartial.Authority)));
        await proxy.app.StartAsync();
        var address = new Uri(proxy.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        proxy.BaseUri = new Uri(address, root.AbsolutePath);
        return proxy;
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

        string contentRange = request.Headers["Content-Range"].ToString();
        bool isChunk = request.Method == "PUT" && request.Query.ContainsKey("upload_id") && contentRange.Length > 0;
        if (isChunk)
        {
            lock (contentRanges)
            {
                contentRanges.Add(contentRange);
            }
        }

        using var response = await upstream.SendAsync(forward, HttpCompletionOption.ResponseContentRead, context.RequestAborted);
        if (isChunk && !contentRange.StartsWith("bytes */", StringComparison.Ordinal) && Volatile.Read(ref hold) is { } matches && matches(contentRange)
            && Interlocked.CompareExchange(ref hold, null, matches) == matches)
        {
            ChunkAcceptedAndHeld.TrySetResult(contentRange);
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
