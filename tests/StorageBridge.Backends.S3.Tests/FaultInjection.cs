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

    /// <summary>Answer <see cref="S3FaultInjector.AnswerStatus"/> with <see cref="S3FaultInjector.AnswerCode"/> without sending the request.</summary>
    Answer,
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

    /// <summary>The status <see cref="S3Fault.Answer"/> answers with (e.g. 503 SlowDown, 403 AccessDenied).</summary>
    public HttpStatusCode AnswerStatus { get; set; } = HttpStatusCode.ServiceUnavailable;

    /// <summary>The S3 error code in the answer's XML body.</summary>
    public string AnswerCode { get; set; } = "SlowDown";

    /// <summary>Sees every request before it is sent (headers; the body may be read only if it is buffered).</summary>
    public Func<HttpRequestMessage, Task>? Observe { get; set; }

    /// <summary>Sees every request the store answered, with the answer (before the SDK reads it; leave the body alone).</summary>
    public Func<HttpRequestMessage, HttpResponseMessage, Task>? Answered { get; set; }

    public int UploadPartCalls => Volatile.Read(ref uploadPartCalls);

    public int CompleteCalls => Volatile.Read(ref completeCalls);

    public int Injected { get; private set; }

    public void Reset()
    {
        UploadPart = S3Fault.None;
        Complete = S3Fault.None;
        Remaining = int.MaxValue;
        AnswerStatus = HttpStatusCode.ServiceUnavailable;
        AnswerCode = "SlowDown";
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
                    return ErrorAnswer(request, HttpStatusCode.InternalServerError, "InternalError");
                case S3Fault.Answer:
                    return ErrorAnswer(request, owner.AnswerStatus, owner.AnswerCode);
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

            var answer = await base.SendAsync(request, cancellationToken);
            if (owner.Answered is { } answered)
            {
                await answered(request, answer);
            }

            return answer;
        }

        private static HttpResponseMessage ErrorAnswer(HttpRequestMessage request, HttpStatusCode status, string code) => new(status)
        {
            RequestMessage = request,
            Content = new StringContent(
                $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>",
                System.Text.Encoding.UTF8,
                "application/xml"),
        };
    }
}

/// <summary>The S3 operations one client sent, in order, with the store's status: an <see cref="S3FaultInjector.Answered"/> hook.</summary>
public sealed class S3RequestLog
{
    private readonly List<(string Operation, int Status, string? UploadId)> entries = [];

    /// <summary>Runs after each answer is logged (e.g. to change the store between two requests).</summary>
    public Func<string, int, Task>? After { get; set; }

    public IReadOnlyList<(string Operation, int Status)> Entries
    {
        get
        {
            lock (entries)
            {
                return [.. entries.Select(e => (e.Operation, e.Status))];
            }
        }
    }

    /// <summary>The multipart upload id the first request with one was sent to.</summary>
    public string? UploadId
    {
        get
        {
            lock (entries)
            {
                return entries.Select(e => e.UploadId).FirstOrDefault(id => id is not null);
            }
        }
    }

    public S3FaultInjector Attach(S3FaultInjector injector)
    {
        ArgumentNullException.ThrowIfNull(injector);
        injector.Answered = async (request, response) =>
        {
            var operation = OperationOf(request);
            lock (entries)
            {
                entries.Add((operation, (int)response.StatusCode, QueryValue(request, "uploadId")));
            }

            if (After is { } after)
            {
                await after(operation, (int)response.StatusCode);
            }
        };
        return injector;
    }

    public int Count(string operation) => Entries.Count(e => e.Operation == operation);

    /// <summary>The S3 API operation of a request, told apart as S3 does: by method, sub-resource and copy header.</summary>
    public static string OperationOf(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var copy = request.Headers.Contains("x-amz-copy-source");
        var upload = QueryValue(request, "uploadId") is not null;
        return request.Method.Method switch
        {
            "PUT" when copy && upload => "UploadPartCopy",
            "PUT" when upload => "UploadPart",
            "PUT" when copy => "CopyObject",
            "PUT" => "PutObject",
            "POST" when QueryValue(request, "uploads") is not null => "CreateMultipartUpload",
            "POST" when upload => "CompleteMultipartUpload",
            "POST" when QueryValue(request, "delete") is not null => "DeleteObjects",
            "DELETE" when upload => "AbortMultipartUpload",
            "DELETE" => "DeleteObject",
            "HEAD" => "HeadObject",
            "GET" => "GetObject",
            _ => request.Method.Method,
        };
    }

    private static string? QueryValue(HttpRequestMessage request, string name)
    {
        foreach (var pair in (request.RequestUri?.Query ?? "").TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if ((equals < 0 ? pair : pair[..equals]) == name)
            {
                return equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..]);
            }
        }

        return null;
    }
}
