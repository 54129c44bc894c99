using System.Net;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>
/// The Azure SDK's HTTP transport with faults (BlobClientOptions.Transport = HttpClientTransport(this)): fails
/// StageBlock (Put Block) or CommitBlockList (Put Block List) before they reach the service, delays them, or lets a
/// commit reach the service and then loses its response, as a dropped connection would.
/// </summary>
public sealed class FaultInjectingHandler : DelegatingHandler
{
    private int failStageBlocks;
    private int passStageBlocks;
    private int failCommits;
    private int loseCommitResponses;
    private int stageBlockCalls;
    private int commitCalls;

    public FaultInjectingHandler()
        : base(new SocketsHttpHandler())
    {
    }

    /// <summary>The next N StageBlock requests answer 503 without reaching the service.</summary>
    public int FailStageBlocks { set => Volatile.Write(ref failStageBlocks, value); }

    /// <summary>Lets <paramref name="successes"/> more StageBlock requests through, then fails the following <paramref name="failures"/>.</summary>
    public void FailStageBlocksAfter(int successes, int failures)
    {
        Volatile.Write(ref passStageBlocks, successes);
        Volatile.Write(ref failStageBlocks, failures);
    }

    /// <summary>What failed StageBlock requests answer (503 unless set, e.g. 403 AuthorizationFailure).</summary>
    public HttpStatusCode StageBlockFailure { get; set; } = HttpStatusCode.ServiceUnavailable;

    /// <summary>The x-ms-error-code of failed StageBlock answers, if any.</summary>
    public string? StageBlockErrorCode { get; set; }

    /// <summary>The next N CommitBlockList requests answer 503 without reaching the service.</summary>
    public int FailCommits { set => Volatile.Write(ref failCommits, value); }

    /// <summary>The next N CommitBlockList requests are executed by the service, but the client gets a 500.</summary>
    public int LoseCommitResponses { set => Volatile.Write(ref loseCommitResponses, value); }

    public int StageBlockCalls => Volatile.Read(ref stageBlockCalls);

    public int CommitCalls => Volatile.Read(ref commitCalls);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var query = request.RequestUri?.Query ?? "";
        if (request.Method == HttpMethod.Put && (query.Contains("comp=block&", StringComparison.Ordinal) || query.EndsWith("comp=block", StringComparison.Ordinal)))
        {
            Interlocked.Increment(ref stageBlockCalls);
            if (!TakeOne(ref passStageBlocks) && TakeOne(ref failStageBlocks))
            {
                var failed = Fail(request, StageBlockFailure);
                if (StageBlockErrorCode is { } code)
                {
                    // As the service answers: the code in a header and in the XML body (the SDK reads the body).
                    failed.Headers.Add("x-ms-error-code", code);
                    failed.Content = new StringContent(
                        $"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected fault</Message></Error>",
                        System.Text.Encoding.UTF8,
                        "application/xml");
                }

                return failed;
            }
        }
        else if (request.Method == HttpMethod.Put && query.Contains("comp=blocklist", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref commitCalls);
            if (TakeOne(ref failCommits))
            {
                return Fail(request, HttpStatusCode.ServiceUnavailable);
            }

            if (TakeOne(ref loseCommitResponses))
            {
                using var executed = await base.SendAsync(request, cancellationToken);
                return Fail(request, HttpStatusCode.InternalServerError);
            }
        }

        return await base.SendAsync(request, cancellationToken);
    }

    private static bool TakeOne(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current)
            {
                return true;
            }
        }
    }

    private static HttpResponseMessage Fail(HttpRequestMessage request, HttpStatusCode status) => new(status)
    {
        RequestMessage = request,
        Content = new StringContent("injected fault"),
    };
}
