using Microsoft.Extensions.DependencyInjection.Extensions;
using StorageBridge.Backends;
using StorageBridge.Backends.S3;

namespace Microsoft.Extensions.DependencyInjection;

public static class S3ServiceCollectionExtensions
{
    /// <summary>Makes <c>Backend: S3</c> available to targets (before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgeS3(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory, S3BackendFactory>());
        return services;
    }
}
