using Microsoft.Extensions.DependencyInjection.Extensions;
using StorageBridge.Backends;
using StorageBridge.Backends.AzureBlob;

namespace Microsoft.Extensions.DependencyInjection;

public static class AzureBlobServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: AzureBlob</c> available to targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeAzureBlob(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory, AzureBlobBackendFactory>());
        return services;
    }
}
