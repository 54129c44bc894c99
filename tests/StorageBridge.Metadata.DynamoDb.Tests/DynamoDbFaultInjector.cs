using System.Net;
using System.Text;
using Amazon.Runtime;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>What to do to matching DynamoDB requests.</summary>
public enum DynamoDbFault
{
    None,

    /// <summary>Answer 400 ProvisionedThroughputExceededException without sending the request.</summary>
    Throttle,

    /// <summary>Answer 400 AccessDeniedException without sending the request.</summary>
    AccessDenied,

    /// <summary>Send the request, then drop the answer as a reset connection (DynamoDB did the work).</summary>
    ResetAfter,
}

/// <summary>
/// Fault injection in the SDK's own HTTP pipeline (AmazonDynamoDBConfig.HttpClientFactory): the real SDK with its
/// retries and error parsing runs unchanged; only the wire misbehaves. Faults apply to the operation named by
/// <see cref="Operation"/> (the X-Amz-Target suffix, e.g. PutItem), at most <see cref="Remaining"/> times.
/// </summary>
public sealed class DynamoDbFaultInjector : HttpClientFactory
{
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

    public volatile DynamoDbFault Fault;

    public string Operation { get; set; } = "PutItem";

    public int Remaining { get; set; } = int.MaxValue;

    public int Injected { get; private set; }

    public int Calls(string operation)
    {
        lock (_calls)
        {
            return _calls.GetValueOrDefault(operation);
        }
    }

    public void Set(DynamoDbFault fault, string operation, int times = int.MaxValue)
    {
        lock (_calls)
        {
            Operation = operation;
            Remaining = times;
            Injected = 0;
            Fault = fault;
        }
    }

    public void Reset() => Set(DynamoDbFault.None, "PutItem");

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) =>
        new(new Handler(this) { InnerHandler = new SocketsHttpHandler() }) { Timeout = Timeout.InfiniteTimeSpan };

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public override string GetConfigUniqueString(IClientConfig clientConfig) => "dynamodb-fault-injector";

    private DynamoDbFault Decide(HttpRequestMessage request)
    {
        var target = request.Headers.TryGetValues("X-Amz-Target", out var values) ? values.FirstOrDefault() ?? "" : "";
        var operation = target[(target.LastIndexOf('.') + 1)..];
        lock (_calls)
        {
            _calls[operation] = _calls.GetValueOrDefault(operation) + 1;
            if (Fault == DynamoDbFault.None || operation != Operation || Remaining <= 0)
            {
                return DynamoDbFault.None;
            }

            Remaining--;
            Injected++;
            return Fault;
        }
    }

    private sealed class Handler(DynamoDbFaultInjector owner) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            switch (owner.Decide(request))
            {
                case DynamoDbFault.Throttle:
                    return Error(request, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the table was exceeded.");
                case DynamoDbFault.AccessDenied:
                    return Error(request, "AccessDeniedException", "User is not authorized to perform this action.");
                case DynamoDbFault.ResetAfter:
                    using (var response = await base.SendAsync(request, cancellationToken))
                    {
                        await response.Content.LoadIntoBufferAsync(cancellationToken);
                    }

                    throw new HttpRequestException("injected: connection reset after the request was processed", new IOException("Connection reset by peer"));
            }

            return await base.SendAsync(request, cancellationToken);
        }

        private static HttpResponseMessage Error(HttpRequestMessage request, string code, string message) => new(HttpStatusCode.BadRequest)
        {
            RequestMessage = request,
            Content = new StringContent(
                $"{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"{message}\"}}",
                Encoding.UTF8,
                "application/x-amz-json-1.0"),
        };
    }
}
