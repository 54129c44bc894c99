using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;
using StorageBridge.Metadata.Sqlite;

namespace Microsoft.Extensions.DependencyInjection;

public static class SqliteMetadataBuilderExtensions
{
    /// <summary>
    /// Keeps upload records in a SQLite file (default data/metadata/storagebridge.db under the working directory). Selected unless
    /// the configuration's <c>Metadata:Provider</c> or an earlier <c>Use...Metadata</c> call chose another store;
    /// <c>Metadata:Path</c>/<c>ConnectionString</c> from configuration are bound first, then <paramref name="configure"/>.
    /// </summary>
    public static IStorageBridgeBuilder UseSqliteMetadata(this IStorageBridgeBuilder builder, Action<SqliteMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<SqliteMetadataOptions>, MetadataSectionBinder<SqliteMetadataOptions>>());
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder.UseMetadataStore<SqliteMetadataStoreFactory>(SqliteMetadataStoreFactory.ProviderName);
    }
}
