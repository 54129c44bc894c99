using Azure;
using Azure.Identity;
using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;
using StorageBridge.Configuration;
using StorageBridge.Diagnostics;

namespace StorageBridge.Events.AzureQueues;

/// <summary>
/// Sends each completion event as one queue message: the event's JSON (<see cref="CompletionEventJson"/>), Base64 or
/// as is per <see cref="AzureQueueSinkOptions.MessageEncoding"/>. Azure queues have no message attributes: the
/// idempotency key is in the body. Any failure (after the SDK's own retries) is thrown: the dispatcher counts it as a
/// failed attempt and sends again, so a receiver may see one event twice and deduplicates on <c>idempotencyKey</c>.
/// </summary>
public sealed partial class AzureQueueSink : ICompletionEventSink
{
    /// <summary>Largest message Azure Storage Queues accept (bytes, after encoding).</summary>
    public const int MaxMessageBytes = 64 * 1024;

    private readonly QueueClient _queue;
    private readonly bool _createIfMissing;
    private readonly bool _base64;
    private readonly ILogger _logger;
    private volatile bool _ensured;

    public AzureQueueSink(string name, AzureQueueSinkOptions options, ILogger<AzureQueueSink> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(options);
        Name = name;
        _logger = logger;
        _createIfMissing = options.CreateIfMissing;
        _base64 = options.MessageEncoding == AzureQueueMessageEncoding.Base64;
        var clientOptions = new QueueClientOptions
        {
            MessageEncoding = _base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None,
        };
        options.ConfigureClient?.Invoke(clientOptions);
        var queueName = options.QueueName ?? throw new ArgumentException("QueueName is required.", nameof(options));
        _queue = options switch
        {
            { ConnectionString: { Length: > 0 } connection } => new QueueClient(connection, queueName, clientOptions),
            { ServiceUri: { } service } => new QueueClient(
                new Uri(service.AbsoluteUri.TrimEnd('/') + "/" + queueName), options.Credential ?? new DefaultAzureCredential(), clientOptions),
            _ => throw new ArgumentException("ConnectionString or ServiceUri is required.", nameof(options)),
        };
    }

    public string Name { get; }

    /// <summary>The queue this sink sends to.</summary>
    public string QueueName => _queue.Name;

    public async Task DeliverAsync(UploadCompletedEvent completed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completed);
        var body = BinaryData.FromBytes(CompletionEventJson.SerializeToUtf8Bytes(completed));
        var encodedLength = _base64 ? (body.ToMemory().Length + 2) / 3 * 4 : body.ToMemory().Length;
        if (encodedLength > MaxMessageBytes)
        {
            // Permanent: retrying cannot shrink it; the dispatcher dead-letters it after its attempts.
            throw new InvalidOperationException(
                $"Completion event {completed.IdempotencyKey} is {encodedLength} bytes as a queue message; Azure Storage Queues take at most {MaxMessageBytes}.");
        }

        if (_createIfMissing && !_ensured)
        {
            var created = await _queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            if (created is not null)
            {
                LogQueueCreated(_logger, _queue.Name, Name);
            }

            _ensured = true;
        }

        var sent = await _queue.SendMessageAsync(body, cancellationToken: cancellationToken).ConfigureAwait(false);
        LogDelivered(_logger, completed.IdempotencyKey, Name, sent.Value.MessageId);
    }

    [LoggerMessage(EventIds.QueueSinks.AzureQueueCreated, LogLevel.Information, "Azure queue {Queue} created for completion event sink {Sink}")]
    private static partial void LogQueueCreated(ILogger logger, string queue, string sink);

    [LoggerMessage(EventIds.QueueSinks.AzureQueueDelivered, LogLevel.Debug, "Completion event {IdempotencyKey} sent to Azure queue sink {Sink} (message {MessageId})")]
    private static partial void LogDelivered(ILogger logger, string idempotencyKey, string sink, string messageId);
}
