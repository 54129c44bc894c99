using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Tests;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>Options from configuration, their validation at start-up, and the builder extensions.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMetadataStoreFactoryTests(PostgresFixture postgres)
{
    private const string ConnectionString = "Host=db.internal;Database=bridge;Username=bridge;Password=s3cret-Pa55";

    [Fact]
    public void Defaults_apply_when_only_the_connection_string_is_set()
    {
        var options = ReadOptions(Section(("ConnectionString", ConnectionString)));

        Assert.Equal(ConnectionString, options.ConnectionString);
        Assert.Equal("storagebridge", options.Schema);
        Assert.Equal("", options.TablePrefix);
        Assert.True(options.MigrateSchema);
        Assert.Null(options.DataSource);
        Assert.Null(options.DataSourceFactory);
    }

    [Fact]
    public void Every_setting_is_read()
    {
        var options = ReadOptions(Section(("ConnectionString", ConnectionString), ("Schema", "uploads_meta"), ("TablePrefix", "sb_"), ("MigrateSchema", "false")));

        Assert.Equal("uploads_meta", options.Schema);
        Assert.Equal("sb_", options.TablePrefix);
        Assert.False(options.MigrateSchema);
    }

    [Theory]
    [InlineData("ConnectionString", null)]
    [InlineData("ConnectionString", " ")]
    [InlineData("ConnectionString", "Database=bridge;Password=s3cret-Pa55")]
    [InlineData("ConnectionString", "Hots=db;Password=s3cret-Pa55")]
    [InlineData("Schema", "my-schema")]
    [InlineData("Schema", "1abc")]
    [InlineData("Schema", "a\"b")]
    [InlineData("TablePrefix", "sb-")]
    [InlineData("TablePrefix", "a_prefix_that_is_far_too_long_for_postgres_names__")]
    [InlineData("MigrateSchema", "sometimes")]
    public void Bad_values_fail_naming_the_key_and_never_echo_the_password(string name, string? value)
    {
        var values = new Dictionary<string, string?> { ["ConnectionString"] = ConnectionString, [name] = value };

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => ReadOptions(Section([.. values.Select(kv => (kv.Key, kv.Value))])));

        Assert.Equal($"StorageBridge:Metadata:{name}", error.Key);
        Assert.DoesNotContain("s3cret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provider_Postgres_resolves_to_the_postgres_store_when_registered()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "Postgres",
            ["StorageBridge:Metadata:ConnectionString"] = ConnectionString,
            ["StorageBridge:Targets:default:Root"] = Path.Combine(Path.GetTempPath(), "sb-postgres-di"),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridge(configuration).UseSqliteMetadata().UsePostgresMetadata();
        services.AddStorageBridgePostgres(); // idempotent

        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IUploadMetadataStoreFactory>(), f => f.Name == "Postgres");
        Assert.IsType<PostgresUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
    }

    [Fact]
    public async Task A_data_source_from_the_applications_services_is_used_and_left_open()
    {
        var schema = PostgresFixture.NewSchema();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Schema"] = schema,
            ["StorageBridge:Targets:default:Root"] = Path.Combine(Path.GetTempPath(), "sb-postgres-di"),
        }).Build();
        await using var dataSource = NpgsqlDataSource.Create(postgres.ConnectionString);
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(dataSource);
        services.AddStorageBridge(configuration).UsePostgresMetadata(sp => sp.GetRequiredService<NpgsqlDataSource>());

        await using (var provider = services.BuildServiceProvider())
        {
            var store = Assert.IsType<PostgresUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
            await store.InitializeAsync(CancellationToken.None);
        }

        // Disposing the bridge's services left the application's data source usable.
        await using var command = dataSource.CreateCommand($"SELECT count(*) FROM {schema}.schema_version");
        Assert.Equal((long)PostgresUploadMetadataStore.SchemaVersion, await command.ExecuteScalarAsync());
    }

    private static IConfigurationSection Section(params (string Key, string? Value)[] values) =>
        BridgeConfiguration.Section(values.Select(v => new KeyValuePair<string, string?>("StorageBridge:Metadata:" + v.Key, v.Value)));

    private static PostgresMetadataOptions ReadOptions(IConfigurationSection section) =>
        BridgeConfiguration.ReadOptions<PostgresMetadataOptions>(section, s => s.AddStorageBridgePostgres());
}
