using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StorageBridge.Metadata;

namespace StorageBridge.Metadata.Cosmos;

public static class CosmosServiceCollectionExtensions
{
    /// <summary>Makes <c>StorageBridge:Metadata:Provider = Cosmos</c> available (call before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeCosmos(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, CosmosMetadataStoreFactory>());
        return services;
    }
}
