using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Npgsql;
using StorageBridge.Configuration;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

public static class PostgresMetadataBuilderExtensions
{
    /// <summary>Makes <c>StorageBridge:Metadata:Provider = Postgres</c> available (call before or after AddStorageBridge).</summary>
    public static IServiceCollection AddStorageBridgePostgres(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IUploadMetadataStoreFactory, PostgresMetadataStoreFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<PostgresMetadataOptions>, MetadataSectionBinder<PostgresMetadataOptions>>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresMetadataOptions>, PostgresMetadataOptionsValidator>());
        return services;
    }

    /// <summary>
    /// Keeps upload records in PostgreSQL. Selected unless the configuration's <c>Metadata:Provider</c> or an earlier
    /// <c>Use...Metadata</c> call chose another store; <c>Metadata:ConnectionString</c>, <c>Schema</c>,
    /// <c>TablePrefix</c> and <c>MigrateSchema</c> from configuration are bound first, then <paramref name="configure"/>.
    /// </summary>
    public static IStorageBridgeBuilder UsePostgresMetadata(this IStorageBridgeBuilder builder, Action<PostgresMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddStorageBridgePostgres();
        if (configure is not null)
        {
            builder.Services.Configure(configure);
        }

        return builder.UseMetadataStore<PostgresMetadataStoreFactory>(PostgresMetadataStoreFactory.ProviderName);
    }

    /// <summary>
    /// Keeps upload records in PostgreSQL through a data source from the application's services (not disposed by the
    /// bridge), e.g. <c>sp =&gt; sp.GetRequiredService&lt;NpgsqlDataSource&gt;()</c>; no connection string is needed then.
    /// </summary>
    public static IStorageBridgeBuilder UsePostgresMetadata(
        this IStorageBridgeBuilder builder, Func<IServiceProvider, NpgsqlDataSource> dataSource, Action<PostgresMetadataOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        return builder.UsePostgresMetadata(o =>
        {
            o.DataSourceFactory = dataSource;
            configure?.Invoke(o);
        });
    }
}
