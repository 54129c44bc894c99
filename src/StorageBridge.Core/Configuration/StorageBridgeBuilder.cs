using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StorageBridge.Backends;
using StorageBridge.Configuration;
using StorageBridge.Diagnostics;
using StorageBridge.FileSystem;
using StorageBridge.Metadata;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Returned by <c>AddStorageBridge</c>: targets (<c>AddS3Target</c>, <c>AddFileSystemTarget</c>...) and the metadata store
/// (<c>UseSqliteMetadata</c>...) are added through extension methods of the backend and store packages.
/// </summary>
public interface IStorageBridgeBuilder
{
    IServiceCollection Services { get; }
}

/// <summary>Registration shared by every backend and store package (the engine's targets and options).</summary>
public static class StorageBridgeBuilderExtensions
{
    private sealed class Builder(IServiceCollection services) : IStorageBridgeBuilder
    {
        public IServiceCollection Services { get; } = services;
    }

    /// <summary>
    /// Engine options and targets: <paramref name="section"/> (usually <c>StorageBridge</c>) is bound onto
    /// <see cref="StorageBridgeOptions"/> and declares the targets under <c>Targets</c> (with a file target "default"
    /// when no target is declared at all, in configuration or code); null configures everything in code. Called by
    /// <c>AddStorageBridge</c>.
    /// </summary>
    public static IStorageBridgeBuilder AddStorageBridgeTargets(this IServiceCollection services, IConfigurationSection? section, Action<StorageBridgeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new Builder(services);
        if (services.Any(d => d.ServiceType == typeof(StorageBridgeConfigurationSource)))
        {
            // A second call adds to the first one's configuration.
            if (configure is not null)
            {
                services.Configure(configure);
            }

            return builder;
        }

        var source = new StorageBridgeConfigurationSource(section);
        services.AddSingleton(source);
        services.TryAddSingleton(TimeProvider.System);
        // The meter comes from the host's IMeterFactory (hosts register one); without it, the process-wide default.
        services.TryAddSingleton(sp => sp.GetService<IMeterFactory>() is { } meters ? new StorageBridgeMetrics(meters) : StorageBridgeMetrics.Default);
        var options = services.AddOptions<StorageBridgeOptions>();
        if (section is not null)
        {
            options.Configure(o => ConfigurationBinding.Bind(section, o));
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<StorageBridgeOptions>>().Value.ToEngineOptions());
        services.AddBackend<FileSystemBackendFactory, FileSystemTargetOptions, TargetOptionsValidator<FileSystemTargetOptions>>();
        if (section is not null)
        {
            foreach (var target in section.GetSection("Targets").GetChildren())
            {
                services.AddSingleton(new StorageBridgeTargetDeclaration(target.Key, target["Backend"] is { Length: > 0 } backend ? backend : "FileSystem"));
            }

            UploadCreationHookBuilderExtensions.AddConfiguredPreCreateWebhook(services, section);
        }

        services.TryAddSingleton(TargetConfiguration.CreateRegistry);
        return builder;
    }

    /// <summary>
    /// Makes a backend available to targets (configured or added in code): its factory, the binding of
    /// <c>Targets:{name}</c> onto <typeparamref name="TOptions"/> and its validator. Idempotent.
    /// </summary>
    public static IServiceCollection AddBackend<TFactory, TOptions, TValidator>(this IServiceCollection services)
        where TFactory : class, IUploadBackendFactory
        where TOptions : StorageBridgeTargetOptions
        where TValidator : class, IValidateOptions<TOptions>
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadBackendFactory, TFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<TOptions>, TargetSectionBinder<TOptions>>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>, TValidator>());
        return services;
    }

    /// <summary>
    /// Declares a target named <paramref name="name"/> on <paramref name="backend"/>; configuration under
    /// <c>Targets:{name}</c> (if any) is bound first, then <paramref name="configure"/>. Validated at start-up.
    /// </summary>
    public static IStorageBridgeBuilder AddTarget<TOptions>(this IStorageBridgeBuilder builder, string name, string backend, Action<TOptions>? configure)
        where TOptions : StorageBridgeTargetOptions
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(backend);
        if (name is null || !TargetConfiguration.IsValidTargetName(name))
        {
            throw new ArgumentException($"'{name}' is not a target name: use letters, digits, '-' and '_' (at most 64).", nameof(name));
        }

        builder.Services.AddSingleton(new StorageBridgeTargetDeclaration(name, backend));
        var options = builder.Services.AddOptions<TOptions>(name);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        return builder;
    }

    /// <summary>A target on local files (<c>Backend: FileSystem</c>); <c>Root</c> resolves against the working directory.</summary>
    public static IStorageBridgeBuilder AddFileSystemTarget(this IStorageBridgeBuilder builder, string name, Action<FileSystemTargetOptions>? configure = null) =>
        builder.AddTarget(name, "FileSystem", configure);

    /// <summary>
    /// Registers a metadata store and selects it unless the configuration (<c>Metadata:Provider</c>) or an earlier
    /// <c>Use...Metadata</c> call chose another one. Used by the store packages' <c>Use...Metadata</c> methods.
    /// </summary>
    public static IStorageBridgeBuilder UseMetadataStore<TFactory>(this IStorageBridgeBuilder builder, string provider)
        where TFactory : class, IUploadMetadataStoreFactory
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, TFactory>());
        builder.Services.Configure<StorageBridgeOptions>(o => o.Metadata.Provider ??= provider);
        return builder;
    }
}
