using Microsoft.Extensions.Configuration;
using StorageBridge.Configuration;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Sqlite;

namespace StorageBridge.AspNetCore;

/// <summary>Builds the metadata store named by <c>StorageBridge:Metadata:Provider</c> (default Sqlite).</summary>
internal static class MetadataStores
{
    public static IUploadMetadataStore Create(IConfigurationSection section)
    {
        var provider = section["Provider"] is { Length: > 0 } p ? p : "Sqlite";
        return provider.ToUpperInvariant() switch
        {
            "INMEMORY" => new InMemoryUploadMetadataStore(),
            "SQLITE" => new SqliteUploadMetadataStore(new SqliteMetadataOptions
            {
                ConnectionString = section["ConnectionString"] is { Length: > 0 } connection ? connection : null,
                Path = section["Path"] is { Length: > 0 } path ? path : SqliteMetadataOptions.DefaultPath,
            }),
            _ => throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, "Provider"), $"unknown metadata provider '{provider}'; available: Sqlite, InMemory."),
        };
    }
}
