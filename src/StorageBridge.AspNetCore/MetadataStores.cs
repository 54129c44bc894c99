using Microsoft.Extensions.Configuration;
using StorageBridge.Configuration;
using StorageBridge.Metadata;

namespace StorageBridge.AspNetCore;

/// <summary>Builds the metadata store named by <c>StorageBridge:Metadata:Provider</c> (default Sqlite) from the registered factories.</summary>
internal static class MetadataStores
{
    public static IUploadMetadataStore Create(IConfigurationSection section, IEnumerable<IUploadMetadataStoreFactory> factories)
    {
        var provider = section["Provider"] is { Length: > 0 } p ? p : "Sqlite";
        var factory = factories.FirstOrDefault(f => string.Equals(f.Name, provider, StringComparison.OrdinalIgnoreCase))
            ?? throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, "Provider"),
                $"unknown metadata provider '{provider}'; available: {string.Join(", ", factories.Select(f => f.Name))}.");
        return factory.Create(section);
    }
}
