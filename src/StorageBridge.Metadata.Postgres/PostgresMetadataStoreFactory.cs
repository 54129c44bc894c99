using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using StorageBridge.Configuration;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// <c>Provider: Postgres</c> with <c>ConnectionString</c> (required unless the application supplies a data source),
/// <c>Schema</c> (default storagebridge), <c>TablePrefix</c> (default none) and <c>MigrateSchema</c> (default true).
/// </summary>
internal sealed class PostgresMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "Postgres";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<PostgresMetadataOptions>>().Value;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<PostgresUploadMetadataStore>();
        return (options.DataSource ?? options.DataSourceFactory?.Invoke(services)) is { } dataSource
            ? new PostgresUploadMetadataStore(dataSource, options, logger)
            : new PostgresUploadMetadataStore(options, logger);
    }
}

/// <summary>Checks the PostgreSQL store's options at start-up; failures name the key (and never echo the connection string).</summary>
internal sealed class PostgresMetadataOptionsValidator(StorageBridgeConfigurationSource source) : IValidateOptions<PostgresMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = source.MetadataPath;
        if (!PostgresTableNames.IsIdentifier(options.Schema, allowEmpty: false))
        {
            Fail(path, "Schema", $"'{options.Schema}' is not a plain PostgreSQL identifier (letters, digits and '_', not starting with a digit, at most 63 characters).");
        }

        if (!PostgresTableNames.IsIdentifier(options.TablePrefix, allowEmpty: true)
            || options.TablePrefix.Length > PostgresTableNames.MaxIdentifierLength - PostgresTableNames.LongestTableName)
        {
            Fail(
                path,
                "TablePrefix",
                $"'{options.TablePrefix}' is not a valid table prefix (letters, digits and '_', at most {PostgresTableNames.MaxIdentifierLength - PostgresTableNames.LongestTableName} characters).");
        }

        if (options.DataSource is not null || options.DataSourceFactory is not null)
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            Fail(path, "ConnectionString", "a value is required for Provider Postgres (e.g. Host=db;Database=storagebridge;Username=bridge;Password=...).");
        }

        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        }
        catch (ArgumentException ex)
        {
            // The parser's message names the offending keyword only; the value (maybe a password) is not repeated.
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "ConnectionString"), $"not a valid Npgsql connection string: {ex.Message}");
        }

        if (string.IsNullOrWhiteSpace(builder.Host))
        {
            Fail(path, "ConnectionString", "the connection string names no Host.");
        }

        return ValidateOptionsResult.Success;
    }

    private static void Fail(string path, string name, string message) =>
        throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, name), message);
}
