using System.Net;
using System.Text;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// Sits in the Cosmos SDK's own HTTP pipeline (CosmosClientOptions.HttpClientFactory) and answers chosen document
/// requests itself with a Cosmos-shaped error instead of sending them: the SDK and the store see exactly what a
/// throttled or failing service would send, and the injected request never reaches the server.
/// </summary>
public sealed class FaultInjectingHandler : DelegatingHandler
{
    private readonly Func<HttpRequestMessage, HttpStatusCode?> _decide;
    private int _injected;
    private int _documentRequests;

    /// <param name="decide">Called for each document request (path containing /docs); a status code means "answer with this".</param>
    public FaultInjectingHandler(Func<HttpRequestMessage, HttpStatusCode?> decide)
        : base(new SocketsHttpHandler { UseProxy = false })
    {
        _decide = decide;
    }

    public int Injected => Volatile.Read(ref _injected);

    public int DocumentRequests => Volatile.Read(ref _documentRequests);

    /// <summary>For requests it returns true for: send the request, then throw the answer away and answer 503 (the write landed, its answer was lost).</summary>
    public Func<HttpRequestMessage, bool>? LoseAnswer { get; init; }

    /// <summary>Sent with each injected 429.</summary>
    public int RetryAfterMs { get; init; } = 20;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri?.AbsolutePath.Contains("/docs", StringComparison.Ordinal) == true)
        {
            Interlocked.Increment(ref _documentRequests);
            if (_decide(request) is { } status)
            {
                Interlocked.Increment(ref _injected);
                return Fault(request, status);
            }

            if (LoseAnswer?.Invoke(request) == true)
            {
                (await base.SendAsync(request, cancellationToken).ConfigureAwait(false)).Dispose();
                Interlocked.Increment(ref _injected);
                return Fault(request, HttpStatusCode.ServiceUnavailable);
            }
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private HttpResponseMessage Fault(HttpRequestMessage request, HttpStatusCode status)
    {
        var response = new HttpResponseMessage(status)
        {
            RequestMessage = request,
            Content = new StringContent(
                $$"""{"code":"{{status}}","message":"injected by FaultInjectingHandler"}""", Encoding.UTF8, "application/json"),
        };
        response.Headers.TryAddWithoutValidation("x-ms-activity-id", Guid.NewGuid().ToString());
        response.Headers.TryAddWithoutValidation("x-ms-request-charge", "1");
        if (status == HttpStatusCode.TooManyRequests)
        {
            response.Headers.TryAddWithoutValidation("x-ms-retry-after-ms", RetryAfterMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
            response.Headers.TryAddWithoutValidation("x-ms-substatus", "3200");
        }

        return response;
    }
}
