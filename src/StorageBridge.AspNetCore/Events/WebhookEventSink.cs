using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using StorageBridge.Events;

namespace StorageBridge.AspNetCore.Events;

/// <summary>
/// Sink <c>Type: Webhook</c>: POSTs each completion event as JSON to <c>Url</c>, signed with HMAC-SHA256 over
/// "{timestamp}.{body}" (<see cref="SignatureHeader"/>: <c>t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>) and carrying the
/// event's idempotency key in <see cref="IdempotencyKeyHeader"/>. A 2xx answer delivers it; any other status, a
/// connection failure or the <c>Timeout</c> is a failed attempt (retried by the dispatcher).
/// </summary>
internal sealed class WebhookEventSink : ICompletionEventSink, IDisposable
{
    public const string SignatureHeader = "StorageBridge-Signature";
    public const string IdempotencyKeyHeader = "Idempotency-Key";
    public const string EventTypeHeader = "StorageBridge-Event";
    public const string EventType = "upload.completed";

    private readonly Uri _url;
    private readonly byte[] _secret;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;

    public WebhookEventSink(string name, Uri url, string secret, TimeSpan timeout, TimeProvider time, HttpMessageHandler? handler = null)
    {
        Name = name;
        _url = url;
        _secret = Encoding.UTF8.GetBytes(secret);
        _timeout = timeout;
        _time = time;

        // Connections are recycled so a receiver behind DNS changes is found again; no redirects: a signed event
        // goes only where it was configured to go.
        _client = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), AllowAutoRedirect = false })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public string Name { get; }

    public async Task DeliverAsync(UploadCompletedEvent completed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completed);
        var body = CompletionEventJson.SerializeToUtf8Bytes(completed);
        var timestamp = _time.GetUtcNow().ToUnixTimeSeconds();

        using var request = new HttpRequestMessage(HttpMethod.Post, _url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, completed.IdempotencyKey);
        request.Headers.TryAddWithoutValidation(EventTypeHeader, EventType);
        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(_secret, timestamp, body));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("StorageBridge", null));

        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(_timeout);
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"Webhook {_url} did not answer within {_timeout.TotalSeconds:0.###} s.");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"Webhook {_url} answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
            }
        }
    }

    /// <summary><c>t=&lt;unix seconds&gt;,v1=&lt;lower-case hex HMAC-SHA256(secret, "{t}." + body)&gt;</c>.</summary>
    public static string Sign(byte[] secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.ASCII.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return string.Create(CultureInfo.InvariantCulture, $"t={timestamp},v1={Convert.ToHexStringLower(HMACSHA256.HashData(secret, signed))}");
    }

    public void Dispose() => _client.Dispose();
}
