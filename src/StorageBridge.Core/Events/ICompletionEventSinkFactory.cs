using Microsoft.Extensions.Configuration;

namespace StorageBridge.Events;

/// <summary>
/// Builds the sinks declared in configuration (<c>StorageBridge:Events:Sinks:{name}</c>) whose <c>Type</c> equals
/// <see cref="Type"/>; one factory per type ("Webhook", "AzureQueue", "Sqs"), registered by the package that provides it.
/// </summary>
public interface ICompletionEventSinkFactory
{
    string Type { get; }

    /// <summary>Reads the sink's section (a bad value throws StorageBridgeConfigurationException naming the key).</summary>
    ICompletionEventSink Create(string name, IConfigurationSection section, IServiceProvider services);
}
