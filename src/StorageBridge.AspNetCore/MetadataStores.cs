using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;
using StorageBridge.Metadata;

namespace StorageBridge.AspNetCore;

/// <summary>
/// Builds the metadata store named by <c>StorageBridge:Metadata:Provider</c>, else the one the application selected
/// with <c>Use...Metadata()</c>, from the registered factories.
/// </summary>
internal static class MetadataStores
{
    public static IUploadMetadataStore Create(IServiceProvider services)
    {
        var factories = services.GetServices<IUploadMetadataStoreFactory>().ToList();
        var source = services.GetRequiredService<StorageBridgeConfigurationSource>();
        var key = ConfigurationBinding.Key(source.MetadataPath, "Provider");
        var provider = services.GetRequiredService<IOptions<StorageBridgeOptions>>().Value.Metadata.Provider;
        if (string.IsNullOrEmpty(provider))
        {
            throw new StorageBridgeConfigurationException(
                key,
                "no metadata store: call UseSqliteMetadata() or UseCosmosMetadata() on AddStorageBridge(...) (or set Provider to a registered store).");
        }

        var factory = factories.LastOrDefault(f => string.Equals(f.Name, provider, StringComparison.OrdinalIgnoreCase))
            ?? throw new StorageBridgeConfigurationException(
                key,
                $"unknown metadata provider '{provider}'; available: {string.Join(", ", factories.Select(f => f.Name))}.");
        return factory.Create(services);
    }
}
