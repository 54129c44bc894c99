using Amazon.Runtime;
using Amazon.SQS;

namespace StorageBridge.Events.Sqs;

/// <summary>
/// One SQS sink (<c>StorageBridge:Events:Sinks:{name}</c> with <c>Type: Sqs</c>). Credentials come from the SDK's
/// chain (environment, profile, instance or task role) unless <see cref="AccessKey"/>/<see cref="SecretKey"/> are set
/// (emulators). Code can add to a configured sink with <c>services.Configure&lt;SqsSinkOptions&gt;("{name}", ...)</c>.
/// </summary>
public sealed class SqsSinkOptions
{
    /// <summary>The queue's URL; one ending in ".fifo" is a FIFO queue.</summary>
    public Uri? QueueUrl { get; set; }

    /// <summary>Endpoint other than AWS's (moto, LocalStack); null: the region's endpoint.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>AWS region (e.g. eu-west-1); null: the SDK's (AWS_REGION...).</summary>
    public string? Region { get; set; }

    /// <summary>Static credentials, for emulators; leave empty on AWS.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>
    /// FIFO queues: the message group. Null (the default): the event's target, so one target's events arrive in
    /// completion order while targets proceed in parallel.
    /// </summary>
    public string? MessageGroupId { get; set; }

    /// <summary>Credentials object (overrides the keys). Code only.</summary>
    public AWSCredentials? Credentials { get; set; }

    /// <summary>Adjusts the SDK's client configuration (retries, HttpClientFactory). Code only.</summary>
    public Action<AmazonSQSConfig>? ConfigureClient { get; set; }
}
