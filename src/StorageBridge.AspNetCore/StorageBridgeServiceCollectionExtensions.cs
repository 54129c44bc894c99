using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StorageBridge.AspNetCore;
using StorageBridge.AspNetCore.Download;
using StorageBridge.AspNetCore.Hosting;
using StorageBridge.AspNetCore.Protocols.Ietf;
using StorageBridge.AspNetCore.Protocols.Resumable;
using StorageBridge.AspNetCore.Protocols.Tus;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Sqlite;
using StorageBridge.Targets;

namespace Microsoft.Extensions.DependencyInjection;

public static class StorageBridgeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the upload engine configured from the <c>StorageBridge</c> section: targets, metadata store,
    /// protocol front-ends and the expiry cleanup service. Backends register an <see cref="IUploadBackendFactory"/>,
    /// metadata stores an <see cref="IUploadMetadataStoreFactory"/> (TryAddEnumerable), before or after this call.
    /// </summary>
    public static IServiceCollection AddStorageBridge(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(TargetConfiguration.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory, FileSystemBackendFactory>());
        services.TryAddSingleton(_ => TargetConfiguration.ReadEngineOptions(section));
        services.TryAddSingleton(sp => TargetConfiguration.ReadTargets(section, sp.GetServices<IUploadBackendFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, SqliteMetadataStoreFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, InMemoryMetadataStoreFactory>());
        services.TryAddSingleton(sp => MetadataStores.Create(section.GetSection("Metadata"), sp.GetServices<IUploadMetadataStoreFactory>()));
        services.TryAddSingleton(sp => new UploadCoordinator(
            sp.GetRequiredService<UploadTargetRegistry>(),
            sp.GetRequiredService<IUploadMetadataStore>(),
            sp.GetRequiredService<StorageBridgeEngineOptions>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UploadCoordinator>>()));
        services.TryAddSingleton<IetfUploadHandler>();
        services.TryAddSingleton<TusUploadHandler>();
        services.TryAddSingleton<ResumableUploadHandler>();
        services.TryAddSingleton<DownloadHandler>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ExpiryCleanupService>());
        return services;
    }
}
