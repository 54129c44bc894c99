using Microsoft.Extensions.Configuration;

namespace StorageBridge.Metadata.Sqlite;

/// <summary><c>Provider: Sqlite</c> with <c>Path</c> (default data/storagebridge.db) or <c>ConnectionString</c>.</summary>
public sealed class SqliteMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public string Name => "Sqlite";

    public IUploadMetadataStore Create(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new SqliteUploadMetadataStore(new SqliteMetadataOptions
        {
            ConnectionString = section["ConnectionString"] is { Length: > 0 } connection ? connection : null,
            Path = section["Path"] is { Length: > 0 } path ? path : SqliteMetadataOptions.DefaultPath,
        });
    }
}
