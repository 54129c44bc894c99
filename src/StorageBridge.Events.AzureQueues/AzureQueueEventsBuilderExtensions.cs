using Microsoft.Extensions.DependencyInjection.Extensions;
using StorageBridge.Events;
using StorageBridge.Events.AzureQueues;

namespace Microsoft.Extensions.DependencyInjection;

public static class AzureQueueEventsBuilderExtensions
{
    /// <summary>Lets configuration declare completion event sinks of <c>Type: AzureQueue</c>. Idempotent.</summary>
    public static IStorageBridgeBuilder AddAzureQueueEvents(this IStorageBridgeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ICompletionEventSinkFactory, AzureQueueSinkFactory>());
        return builder;
    }
}
