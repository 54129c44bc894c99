using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// An HTTP forwarder between a Host process and the S3 endpoint, for crash tests: when <see cref="HoldNextUploadPart"/>
/// is set, the next UploadPart is forwarded and answered by S3 (the part IS stored), then its response is held back
/// forever, so the test can kill the host between the UploadPart and the metadata write that would record it.
/// </summary>
public sealed class S3Proxy : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly HttpClient upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private readonly Uri target;
    private int hold;

    private S3Proxy(Uri target)
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

    public Uri Address { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Completed once a held UploadPart has been stored by S3.</summary>
    public TaskCompletionSource<string> PartStoredAndHeld { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int UploadParts;

    public void HoldNextUploadPart()
    {
        PartStoredAndHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref hold, 1);
    }

    public static async Task<S3Proxy> StartAsync(string serviceUrl)
    {
        var proxy = new S3Proxy(new Uri(serviceUrl));
        await proxy.app.StartAsync();
        proxy.Address = new Uri(proxy.app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
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
        var isUploadPart = request.Method == "PUT" && request.Query.ContainsKey("partNumber") && request.Query.ContainsKey("uploadId");
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

            // Host stays as the client signed it (SigV4 covers it).
            if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                forward.Content?.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var response = await upstream.SendAsync(forward, HttpCompletionOption.ResponseContentRead, context.RequestAborted);
        if (isUploadPart)
        {
            Interlocked.Increment(ref UploadParts);
            if (Interlocked.Exchange(ref hold, 0) == 1)
            {
                PartStoredAndHeld.TrySetResult(request.Query["partNumber"].ToString());
                await Task.Delay(Timeout.Infinite, context.RequestAborted); // until the host dies
            }
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
