using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace StorageBridge.Backends.Gcs;

public static class GcsServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: Gcs</c> available to targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddGcsBackend(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory, GcsBackendFactory>());
        return services;
    }
}
