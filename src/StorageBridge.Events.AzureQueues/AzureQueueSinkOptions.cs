using Azure.Core;
using Azure.Storage.Queues;

namespace StorageBridge.Events.AzureQueues;

/// <summary>How queue messages are encoded (Azure Functions' queue trigger expects Base64 unless told otherwise).</summary>
public enum AzureQueueMessageEncoding
{
    Base64,
    None,
}

/// <summary>
/// One Azure Storage Queue sink (<c>StorageBridge:Events:Sinks:{name}</c> with <c>Type: AzureQueue</c>). Code can add
/// to a configured sink with <c>services.Configure&lt;AzureQueueSinkOptions&gt;("{name}", ...)</c>.
/// </summary>
public sealed class AzureQueueSinkOptions
{
    /// <summary>Storage account connection string (Azurite: its development account). Or <see cref="ServiceUri"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Queue service endpoint (https://account.queue.core.windows.net) used with Entra ID (<see cref="Credential"/>).</summary>
    public Uri? ServiceUri { get; set; }

    /// <summary>3–63 lowercase letters, digits and single hyphens.</summary>
    public string? QueueName { get; set; }

    /// <summary>Create the queue on first delivery when it does not exist (needs the right to create queues).</summary>
    public bool CreateIfMissing { get; set; }

    /// <summary>Base64 (the default; what Azure Functions' queue trigger reads) or None (the JSON text as is).</summary>
    public AzureQueueMessageEncoding MessageEncoding { get; set; } = AzureQueueMessageEncoding.Base64;

    /// <summary>Credential used with <see cref="ServiceUri"/> (default: DefaultAzureCredential). Code only.</summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>Adjusts the SDK client's options (retries, transport). Code only.</summary>
    public Action<QueueClientOptions>? ConfigureClient { get; set; }
}
