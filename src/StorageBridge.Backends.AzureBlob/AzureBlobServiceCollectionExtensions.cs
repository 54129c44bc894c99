using Azure.Storage.Blobs;
using StorageBridge.Backends.AzureBlob;

namespace Microsoft.Extensions.DependencyInjection;

public static class AzureBlobServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: AzureBlob</c> available to configured targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeAzureBlob(this IServiceCollection services) =>
        services.AddBackend<AzureBlobBackendFactory, AzureBlobTargetOptions, AzureBlobTargetOptionsValidator>();

    /// <summary>An Azure Blob target; its client comes from the options (ConnectionString, ServiceUri, or a client set in code).</summary>
    public static IStorageBridgeBuilder AddAzureBlobTarget(this IStorageBridgeBuilder builder, string name, Action<AzureBlobTargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageBridgeAzureBlob();
        return builder.AddTarget(name, "AzureBlob", configure);
    }

    /// <summary>An Azure Blob target on a service client from the application's services (<c>Container</c> names the container).</summary>
    public static IStorageBridgeBuilder AddAzureBlobTarget(this IStorageBridgeBuilder builder, string name, Func<IServiceProvider, BlobServiceClient> client, Action<AzureBlobTargetOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddAzureBlobTarget(name, o =>
        {
            o.ServiceClientFactory = client;
            configure(o);
        });
    }
}
