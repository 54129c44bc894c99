using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Cosmos;

namespace Microsoft.Extensions.DependencyInjection;

public static class CosmosServiceCollectionExtensions
{
    /// <summary>Makes <c>StorageBridge:Metadata:Provider = Cosmos</c> available (call before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeCosmos(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, CosmosMetadataStoreFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<CosmosMetadataOptions>, CosmosMetadataSectionBinder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CosmosMetadataOptions>, CosmosMetadataOptionsValidator>());
        return services;
    }

    /// <summary>
    /// Keeps upload records in Cosmos DB. Selected unless the configuration's <c>Metadata:Provider</c> or an earlier
    /// <c>Use...Metadata</c> call chose another store; <c>Metadata:*</c> from configuration is bound first, then
    /// <paramref name="configure"/>.
    /// </summary>
    public static IStorageBridgeBuilder UseCosmosMetadata(this IStorageBridgeBuilder builder, Action<CosmosMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageBridgeCosmos();
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder.UseMetadataStore<CosmosMetadataStoreFactory>(CosmosMetadataStoreFactory.ProviderName);
    }

    /// <summary>Keeps upload records in Cosmos DB through a client from the application's services (not disposed by the bridge).</summary>
    public static IStorageBridgeBuilder UseCosmosMetadata(this IStorageBridgeBuilder builder, Func<IServiceProvider, CosmosClient> client, Action<CosmosMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return builder.UseCosmosMetadata(o =>
        {
            o.ClientFactory = client;
            configure?.Invoke(o);
        });
    }
}
