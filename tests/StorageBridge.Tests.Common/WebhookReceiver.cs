using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StorageBridge.Tests;

/// <summary>One request the receiver got: what it carried and what it was answered (null: the sender was gone first).</summary>
public sealed record WebhookDelivery(string IdempotencyKey, byte[] Body, string Signature, bool SignatureValid, int? AnsweredStatus);

/// <summary>
/// A real HTTP receiver for completion event webhooks: a small Kestrel app on a loopback port that records every
/// request, checks its signature with the shared secret as docs/events.md tells receivers to, and answers with what
/// <see cref="Answer"/> decides for the n-th request of an idempotency key (it may also hold a request open).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<WebhookDelivery> _deliveries = new();
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly byte[] _secret;

    private WebhookReceiver(WebApplication app, string secret)
    {
        _app = app;
        _secret = Encoding.UTF8.GetBytes(secret);
    }

    /// <summary>For the n-th (1-based) request of a key: the status to answer, after awaiting the task it returns.</summary>
    public Func<string, int, Task<int>> Answer { get; set; } = (_, _) => Task.FromResult(200);

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<WebhookDelivery> Deliveries => [.. _deliveries];

    /// <summary>Requests a key received in total, and how many were answered 2xx to a sender still listening.</summary>
    public (int Received, int Acknowledged) CountsOf(string key)
    {
        var mine = Deliveries.Where(d => d.IdempotencyKey == key).ToList();
        return (mine.Count, mine.Count(d => d.AnsweredStatus is >= 200 and < 300));
    }

    public static async Task<WebhookReceiver> StartAsync(string secret, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new WebhookReceiver(app, secret);
        app.MapPost("/hook", receiver.HandleAsync);
        await app.StartAsync(cancellationToken);
        receiver.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook");
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var key = context.Request.Headers["Idempotency-Key"].ToString();
        var signature = context.Request.Headers["StorageBridge-Signature"].ToString();
        var n = _counts.AddOrUpdate(key, 1, (_, c) => c + 1);

        int status;
        try
        {
            status = await Answer(key, n);
        }
        catch (OperationCanceledException)
        {
            status = 500;
        }

        // A sender killed while the request was held never sees the answer: that request was not acknowledged.
        var listening = !context.RequestAborted.IsCancellationRequested;
        _deliveries.Enqueue(new WebhookDelivery(key, body, signature, Verify(signature, body), listening ? status : null));
        if (listening)
        {
            context.Response.StatusCode = status;
        }
    }

    /// <summary>What docs/events.md tells receivers: HMAC-SHA256 over "{t}." + raw body, compared in constant time.</summary>
    private bool Verify(string header, byte[] body)
    {
        var parts = header.Split(',').Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parts.TryGetValue("t", out var t) || !parts.TryGetValue("v1", out var v1) || !long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return false;
        }

        byte[] signed = [.. Encoding.ASCII.GetBytes(t + "."), .. body];
        var expected = HMACSHA256.HashData(_secret, signed);
        byte[] sent;
        try
        {
            sent = Convert.FromHexString(v1);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, sent);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
