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
using StorageBridge.Configuration;
using StorageBridge.Coordination;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;

namespace Microsoft.Extensions.DependencyInjection;

public static class StorageBridgeServiceCollectionExtensions
{
    /// <summary>
    /// Registers the upload engine configured in code: add targets and a metadata store on the returned builder
    /// (<c>.AddS3Target(...)</c>, <c>.UseSqliteMetadata()</c>...). Options are validated at start-up.
    /// </summary>
    public static IStorageBridgeBuilder AddStorageBridge(this IServiceCollection services, Action<StorageBridgeOptions>? configure = null) =>
        services.AddStorageBridgeCore(section: null, configure);

    /// <summary>
    /// Registers the upload engine bound to configuration: pass the <c>StorageBridge</c> section
    /// (<c>configuration.GetSection("StorageBridge")</c>) or the root configuration (its <c>StorageBridge</c> section is
    /// used). Targets under <c>Targets</c> need their backend registered (<c>AddStorageBridgeS3()</c>...) and the
    /// metadata store its <c>Use...Metadata()</c>; code on the returned builder adds to or overrides the configuration.
    /// </summary>
    public static IStorageBridgeBuilder AddStorageBridge(this IServiceCollection services, IConfiguration configuration, Action<StorageBridgeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration as IConfigurationSection ?? configuration.GetSection(TargetConfiguration.SectionName);
        return services.AddStorageBridgeCore(section, configure);
    }

    private static IStorageBridgeBuilder AddStorageBridgeCore(this IServiceCollection services, IConfigurationSection? section, Action<StorageBridgeOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = services.AddStorageBridgeTargets(section, configure);
        services.TryAddSingleton(MetadataStores.Create);
        services.AddMetrics();
        services.TryAddSingleton(sp => new UploadCoordinator(
            sp.GetRequiredService<UploadTargetRegistry>(),
            sp.GetRequiredService<IUploadMetadataStore>(),
            StorageBridge.AspNetCore.Events.CompletionEventServices.EngineOptions(sp),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<UploadCoordinator>>(),
            sp.GetRequiredService<StorageBridgeMetrics>(),
            sp.GetServices<StorageBridge.Hooks.IUploadCreationHook>()));
        services.TryAddSingleton(sp => sp.GetRequiredService<UploadCoordinator>().Assembler);
        services.TryAddSingleton<ChunkUploads>();
        services.TryAddSingleton<IetfUploadHandler>();
        services.TryAddSingleton<TusUploadHandler>();
        services.TryAddSingleton<ResumableUploadHandler>();
        services.TryAddSingleton<DownloadHandler>();
        // Checks before every protocol handler (CORS, authentication, rate limits): each adds its ITargetRequestGate.
        services.TryAddSingleton<StorageBridge.AspNetCore.Security.TargetRequestGates>();
        StorageBridge.AspNetCore.Security.SecurityRegistration.AddTargetAuthentication(services);
        StorageBridge.AspNetCore.Security.BrowserSecurityRegistration.AddStorageBridgeBrowserSecurity(services);
        services.TryAddSingleton<StorageBridge.AspNetCore.Limits.TargetRateLimiters>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<StorageBridge.AspNetCore.Security.ITargetRequestGate, StorageBridge.AspNetCore.Limits.RateLimitGate>());
        // Registered before the expiry service: the store is ready before the first sweep and the first request.
        services.TryAddSingleton<ShutdownSignal>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StorageBridgeInitializer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Options.IConfigureOptions<StorageBridgeMaintenanceOptions>, MaintenanceSectionBinder>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ExpiryCleanupService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StartupSummary>());
        StorageBridge.AspNetCore.Events.CompletionEventServices.Add(services); // completion events: outbox dispatcher, sinks
        AddReadinessCheck(services);
        return builder;
    }

    /// <summary>Readiness (see <see cref="StorageBridgeHealthEndpoints"/>): registered once however often AddStorageBridge runs.</summary>
    private static void AddReadinessCheck(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(StorageReadinessCheck)))
        {
            return;
        }

        services.AddSingleton<StorageReadinessCheck>();
        services.AddHealthChecks().AddCheck<StorageReadinessCheck>(
            StorageBridgeHealthEndpoints.ReadinessCheckName,
            tags: [StorageBridgeHealthEndpoints.ReadyTag],
            timeout: StorageReadinessCheck.ProbeTimeout * 2);
    }
}
