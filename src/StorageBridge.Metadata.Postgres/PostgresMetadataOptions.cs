using Npgsql;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// Where the PostgreSQL metadata store keeps its records (section <c>StorageBridge:Metadata</c> with
/// <c>Provider: Postgres</c>, or <c>UsePostgresMetadata(o =&gt; ...)</c>).
/// </summary>
public sealed record PostgresMetadataOptions
{
    public const string DefaultSchema = "storagebridge";

    /// <summary>
    /// <c>ConnectionString</c>: an Npgsql connection string (Host, Port, Database, Username, Password; pooling keys such
    /// as Maximum Pool Size apply). Not needed when <see cref="DataSource"/> or <see cref="DataSourceFactory"/> is set.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>Schema</c>: the PostgreSQL schema holding the store's tables, created at start-up when missing.</summary>
    public string Schema { get; set; } = DefaultSchema;

    /// <summary><c>TablePrefix</c>: prepended to every table name (uploads, lookups, schema_version), e.g. <c>sb_</c>.</summary>
    public string TablePrefix { get; set; } = "";

    /// <summary>
    /// <c>MigrateSchema</c>: create or upgrade the schema at start-up (needs CREATE rights). When false, start-up only
    /// checks that an operator already brought the schema to the version this build needs.
    /// </summary>
    public bool MigrateSchema { get; set; } = true;

    /// <summary>A data source owned by the application (not disposed by the bridge); ConnectionString is then not needed. Code only.</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>Resolves the data source from the application's services (not disposed by the bridge). Code only.</summary>
    public Func<IServiceProvider, NpgsqlDataSource>? DataSourceFactory { get; set; }
}
