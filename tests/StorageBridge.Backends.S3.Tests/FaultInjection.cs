using System.Net;
using Amazon.Runtime;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>What to do to matching S3 requests.</summary>
public enum S3Fault
{
    None,

    /// <summary>Answer 500 InternalError without sending the request (nothing reaches the store).</summary>
    FailBefore,

    /// <summary>Send the request, then drop the response as a reset connection (the store did the work).</summary>
    ResetAfter,

    /// <summary>Delay the request by <see cref="S3FaultInjector.Delay"/>, then send it.</summary>
    Delay,
}

/// <summary>
/// Fault injection in the SDK's own HTTP pipeline (AmazonS3Config.HttpClientFactory): the real SDK with its retries and
/// error parsing runs unchanged; only the wire misbehaves. Faults apply to UploadPart (PUT ?partNumber&amp;uploadId)
/// and/or CompleteMultipartUpload (POST ?uploadId).
/// </summary>
public sealed class S3FaultInjector : HttpClientFactory
{
    private int uploadPartCalls;
    private int completeCalls;

    public volatile S3Fault UploadPart;
    public volatile S3Fault Complete;

    /// <summary>Faults stop after this many injections (int.MaxValue: until reset).</summary>
    public int Remaining { get; set; } = int.MaxValue;

    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Sees every request before it is sent (headers; the body may be read only if it is buffered).</summary>
    public Func<HttpRequestMessage, Task>? Observe { get; set; }

    public int UploadPartCalls => Volatile.Read(ref uploadPartCalls);

    public int CompleteCalls => Volatile.Read(ref completeCalls);

    public int Injected { get; private set; }

    public void Reset()
    {
        UploadPart = S3Fault.None;
        Complete = S3Fault.None;
        Remaining = int.MaxValue;
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
        new(new Handler(this) { InnerHandler = new SocketsHttpHandler() }) { Timeout = Timeout.InfiniteTimeSpan };

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public override string GetConfigUniqueString(IClientConfig clientConfig) => "fault-injector";

    private S3Fault Decide(HttpRequestMessage request)
    {
        var query = request.RequestUri?.Query ?? "";
        S3Fault fault;
        if (request.Method == HttpMethod.Put && query.Contains("partNumber=", StringComparison.Ordinal) && query.Contains("uploadId=", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref uploadPartCalls);
            fault = UploadPart;
        }
        else if (request.Method == HttpMethod.Post && query.Contains("uploadId=", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref completeCalls);
            fault = Complete;
        }
        else
        {
            return S3Fault.None;
        }

        lock (this)
        {
            if (fault == S3Fault.None || Remaining <= 0)
            {
                return S3Fault.None;
            }

            Remaining--;
            Injected++;
            return fault;
        }
    }

    private sealed class Handler(S3FaultInjector owner) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (owner.Observe is { } observe)
            {
                await observe(request);
            }

            switch (owner.Decide(request))
            {
                case S3Fault.FailBefore:
                    return new HttpResponseMessage(HttpStatusCode.InternalServerError)
                    {
                        RequestMessage = request,
                        Content = new StringContent(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>",
                            System.Text.Encoding.UTF8,
                            "application/xml"),
                    };
                case S3Fault.ResetAfter:
                    using (var response = await base.SendAsync(request, cancellationToken))
                    {
                        await response.Content.LoadIntoBufferAsync(cancellationToken);
                    }

                    throw new HttpRequestException("injected: connection reset after the request was processed", new IOException("Connection reset by peer"));
                case S3Fault.Delay:
                    await Task.Delay(owner.Delay, cancellationToken);
                    break;
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
