using System.Security.Cryptography;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using StorageBridge.Diagnostics;

namespace StorageBridge.Events.Sqs;

/// <summary>
/// Sends each completion event as one SQS message: the event's JSON (<see cref="CompletionEventJson"/>) as the body,
/// with the message attributes <c>idempotencyKey</c>, <c>uploadId</c> and <c>target</c>. On a FIFO queue the message
/// deduplication id is the idempotency key (SQS drops a repeat within its 5-minute window) and the group is
/// <see cref="SqsSinkOptions.MessageGroupId"/> or the target. Any failure (after the SDK's retries) is thrown: a failed
/// attempt for the dispatcher, which sends again; receivers deduplicate on <c>idempotencyKey</c>.
/// </summary>
public sealed partial class SqsSink : ICompletionEventSink, IDisposable
{
    /// <summary>Largest message body this sink sends (SQS's classic limit; AWS now allows 1 MiB, emulators may not).</summary>
    public const int MaxMessageBytes = 256 * 1024;

    private readonly AmazonSQSClient _client;
    private readonly string _queueUrl;
    private readonly bool _fifo;
    private readonly string? _groupId;
    private readonly ILogger _logger;

    public SqsSink(string name, SqsSinkOptions options, ILogger<SqsSink> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _logger = logger;
        _queueUrl = options.QueueUrl?.AbsoluteUri ?? throw new ArgumentException("QueueUrl is required.", nameof(options));
        _fifo = options.QueueUrl.AbsolutePath.EndsWith(".fifo", StringComparison.Ordinal);
        _groupId = options.MessageGroupId;
        var config = new AmazonSQSConfig();
        if (options.ServiceUrl is { } service)
        {
            config.ServiceURL = service.AbsoluteUri;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is { Length: > 0 } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        options.ConfigureClient?.Invoke(config);
        var credentials = options.Credentials
            ?? (options.AccessKey is { Length: > 0 } key ? new BasicAWSCredentials(key, options.SecretKey) : null);
        _client = credentials is null ? new AmazonSQSClient(config) : new AmazonSQSClient(credentials, config);
    }

    public string Name { get; }

    public bool IsFifo => _fifo;

    public async Task DeliverAsync(UploadCompletedEvent completed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completed);
        var body = CompletionEventJson.Serialize(completed);
        if (Encoding.UTF8.GetByteCount(body) > MaxMessageBytes)
        {
            // Permanent: retrying cannot shrink it; the dispatcher dead-letters it after its attempts.
            throw new InvalidOperationException($"Completion event {completed.IdempotencyKey} is larger than the {MaxMessageBytes} bytes an SQS message takes.");
        }

        var request = new SendMessageRequest
        {
            QueueUrl = _queueUrl,
            MessageBody = body,
            MessageAttributes = new Dictionary<string, MessageAttributeValue>
            {
                ["idempotencyKey"] = Text(completed.IdempotencyKey),
                ["uploadId"] = Text(completed.UploadId),
                ["target"] = Text(completed.Target),
            },
        };
        if (_fifo)
        {
            request.MessageGroupId = _groupId ?? completed.Target;
            request.MessageDeduplicationId = DeduplicationId(completed.IdempotencyKey);
        }

        var sent = await _client.SendMessageAsync(request, cancellationToken).ConfigureAwait(false);
        LogDelivered(_logger, completed.IdempotencyKey, Name, sent.MessageId);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// The key itself when SQS accepts it (at most 128 characters of letters, digits and punctuation), else its
    /// SHA-256 in hex: the same key always maps to the same id.
    /// </summary>
    public static string DeduplicationId(string idempotencyKey)
    {
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        return idempotencyKey.Length is > 0 and <= 128 && idempotencyKey.All(c => c is > ' ' and <= '~')
            ? idempotencyKey
            : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(idempotencyKey)));
    }

    private static MessageAttributeValue Text(string value) => new() { DataType = "String", StringValue = value };

    [LoggerMessage(EventIds.QueueSinks.SqsDelivered, LogLevel.Debug, "Completion event {IdempotencyKey} sent to SQS sink {Sink} (message {MessageId})")]
    private static partial void LogDelivered(ILogger logger, string idempotencyKey, string sink, string messageId);
}
