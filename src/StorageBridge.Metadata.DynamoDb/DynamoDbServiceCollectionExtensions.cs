using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StorageBridge.Metadata;
using StorageBridge.Metadata.DynamoDb;

namespace Microsoft.Extensions.DependencyInjection;

public static class DynamoDbServiceCollectionExtensions
{
    /// <summary>Makes <c>StorageBridge:Metadata:Provider = DynamoDb</c> available (call before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeDynamoDb(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, DynamoDbMetadataStoreFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<DynamoDbMetadataOptions>, DynamoDbMetadataSectionBinder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DynamoDbMetadataOptions>, DynamoDbMetadataOptionsValidator>());
        return services;
    }

    /// <summary>
    /// Keeps upload records in a DynamoDB table. Selected unless the configuration's <c>Metadata:Provider</c> or an
    /// earlier <c>Use...Metadata</c> call chose another store; <c>Metadata:*</c> from configuration is bound first, then
    /// <paramref name="configure"/>.
    /// </summary>
    public static IStorageBridgeBuilder UseDynamoDbMetadata(this IStorageBridgeBuilder builder, Action<DynamoDbMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageBridgeDynamoDb();
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder.UseMetadataStore<DynamoDbMetadataStoreFactory>(DynamoDbMetadataStoreFactory.ProviderName);
    }

    /// <summary>
    /// Keeps upload records in a DynamoDB table through a client from the application's services (not disposed by the
    /// bridge), e.g. <c>sp =&gt; sp.GetRequiredService&lt;IAmazonDynamoDB&gt;()</c>.
    /// </summary>
    public static IStorageBridgeBuilder UseDynamoDbMetadata(this IStorageBridgeBuilder builder, Func<IServiceProvider, IAmazonDynamoDB> client, Action<DynamoDbMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        return builder.UseDynamoDbMetadata(o =>
        {
            o.ClientFactory = client;
            configure?.Invoke(o);
        });
    }
}
