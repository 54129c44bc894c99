using Microsoft.Extensions.DependencyInjection.Extensions;
using StorageBridge.Events;
using StorageBridge.Events.Sqs;

namespace Microsoft.Extensions.DependencyInjection;

public static class SqsEventsBuilderExtensions
{
    /// <summary>Lets configuration declare completion event sinks of <c>Type: Sqs</c>. Idempotent.</summary>
    public static IStorageBridgeBuilder AddSqsEvents(this IStorageBridgeBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ICompletionEventSinkFactory, SqsSinkFactory>());
        return builder;
    }
}
