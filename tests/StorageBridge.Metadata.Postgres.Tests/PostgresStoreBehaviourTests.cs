using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>PostgreSQL specifics on the shared server: the schema and its migration, versions and columns, exact expiry, failures.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreBehaviourTests(PostgresFixture postgres) : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 500, TimeSpan.FromHours(2)).AddTicks(1_234);

    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));
    private readonly List<PostgresUploadMetadataStore> _stores = [];

    private CancellationToken Ct => _timeout.Token;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _timeout.Dispose();
    }

    [Fact]
    public async Task Start_up_on_an_empty_database_creates_schema_tables_indexes_and_version_row()
    {
        var database = "empty" + Guid.NewGuid().ToString("N")[..8];
        await postgres.Server.CreateDatabaseAsync(database, Ct);
        Assert.Equal("", await postgres.Server.PsqlAsync(database, "SELECT nspname FROM pg_namespace WHERE nspname = 'storagebridge'", Ct));

        var store = Store(new PostgresMetadataOptions { ConnectionString = postgres.Server.ConnectionString(database) });
        await store.InitializeAsync(Ct);

        Assert.Equal(
            "doc:text:NO,events_due_ticks:bigint:YES,expires_at_ticks:bigint:YES,id:text:NO,state:text:NO,version:bigint:NO",
            await ColumnsAsync(database, "storagebridge", "uploads"));
        Assert.Equal(
            "created_at:text:NO,expires_at:text:YES,expires_at_ticks:bigint:YES,key:text:NO,updated_at:text:NO,upload_id:text:NO,version:bigint:NO",
            await ColumnsAsync(database, "storagebridge", "lookups"));
        Assert.Equal(
            "lookups_expires_at,lookups_pkey,schema_version_pkey,uploads_due_at,uploads_expires_at,uploads_pkey",
            await postgres.Server.PsqlAsync(database, "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'storagebridge'", Ct));
        Assert.Equal(
            "1|uploads and lookups\n2|completion event outbox due time",
            await postgres.Server.PsqlAsync(database, "SELECT version, description FROM storagebridge.schema_version ORDER BY version", Ct));
        Assert.Equal(2, PostgresUploadMetadataStore.SchemaVersion);
    }

    [Fact]
    public async Task A_second_start_and_a_new_instance_keep_the_data_and_apply_nothing_twice()
    {
        var schema = PostgresFixture.NewSchema();
        var store = Store(schema);
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record() with { Offset = 3 }, Ct)).Record!;

        await store.InitializeAsync(Ct);
        var again = Store(schema);
        await again.InitializeAsync(Ct);

        var read = await again.GetAsync(created.Id, Ct);
        Assert.Equal("1", read!.Version);
        Assert.Equal(3, read.Offset);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(read with { Offset = 4 }, Ct)).Status);
        Assert.Equal("2", await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT count(*) FROM {schema}.schema_version", Ct));
    }

    [Fact]
    public async Task Instances_starting_at_once_on_a_new_schema_take_turns_and_all_start()
    {
        var schema = PostgresFixture.NewSchema();
        var stores = Enumerable.Range(0, 8).Select(_ => Store(schema)).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inits = stores.Select(s => Task.Run(async () =>
        {
            await start.Task;
            await s.InitializeAsync(Ct);
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(inits);

        Assert.Equal("2", await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT count(*) FROM {schema}.schema_version", Ct));
        var created = (await stores[0].CreateAsync(Record(), Ct)).Record!;
        foreach (var store in stores)
        {
            Assert.Equal(created.Version, (await store.GetAsync(created.Id, Ct))!.Version);
        }
    }

    [Fact]
    public async Task Schema_and_table_prefix_name_the_tables()
    {
        var schema = PostgresFixture.NewSchema();
        var store = Store(new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString, Schema = schema, TablePrefix = "sb_" });
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record(), Ct)).Record!;

        Assert.Equal(
            "sb_lookups,sb_schema_version,sb_uploads",
            await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = '{schema}'", Ct));
        Assert.Equal(created.Id, await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT id FROM {schema}.sb_uploads", Ct));
    }

    [Fact]
    public async Task A_schema_newer_than_this_build_stops_start_up()
    {
        var schema = PostgresFixture.NewSchema();
        await Store(schema).InitializeAsync(Ct);
        await postgres.Server.PsqlAsync(PostgresFixture.Database, $"INSERT INTO {schema}.schema_version (version, description) VALUES (3, 'from the future')", Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store(schema).InitializeAsync(Ct));

        Assert.Contains("has version 3; this build understands up to 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_at_version_1_gets_the_outbox_column_and_keeps_its_records()
    {
        var schema = PostgresFixture.NewSchema();
        var store = Store(schema);
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record(), Ct)).Record!;
        // Back to what version 1 wrote: no due-time column, no index, one migration recorded.
        await postgres.Server.PsqlAsync(
            PostgresFixture.Database,
            $"DROP INDEX {schema}.uploads_due_at; ALTER TABLE {schema}.uploads DROP COLUMN events_due_ticks; DELETE FROM {schema}.schema_version WHERE version = 2",
            Ct);

        var upgraded = Store(schema);
        await upgraded.InitializeAsync(Ct);

        Assert.Equal("2", await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT max(version) FROM {schema}.schema_version", Ct));
        var read = (await upgraded.GetAsync(created.Id, Ct))!;
        var withEvent = (await upgraded.TryReplaceAsync(StorageBridge.Tests.Conformance.MetadataStoreConformanceTests.WithOutbox(read, T0), Ct)).Record!;
        Assert.Equal($"{T0.UtcTicks}", await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT events_due_ticks FROM {schema}.uploads WHERE id = '{created.Id}'", Ct));
        await foreach (var due in upgraded.ListDueEventsAsync(T0, 10, Ct))
        {
            Assert.Equal(withEvent.Version, due.Version);
        }
    }

    [Fact]
    public async Task With_MigrateSchema_off_an_unmigrated_schema_stops_start_up_and_a_migrated_one_starts()
    {
        var schema = PostgresFixture.NewSchema();
        var options = new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString, Schema = schema, MigrateSchema = false };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store(options).InitializeAsync(Ct));
        Assert.Contains("has version 0; this build needs 2 and MigrateSchema is off", error.Message, StringComparison.Ordinal);
        Assert.Equal("", await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT nspname FROM pg_namespace WHERE nspname = '{schema}'", Ct));

        await Store(schema).InitializeAsync(Ct); // an operator (or a privileged instance) migrates
        var store = Store(options);
        await store.InitializeAsync(Ct);
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(Record(), Ct)).Status);
    }

    [Fact]
    public async Task Versions_are_decimal_counters_and_columns_follow_the_document()
    {
        var schema = PostgresFixture.NewSchema();
        var store = Store(schema);
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record() with { ExpiresAt = T0 }, Ct)).Record!;
        Assert.Equal("1", created.Version);
        Assert.Equal($"1|Open|{T0.UtcTicks}", await RowAsync(schema, created.Id));

        var replaced = (await store.TryReplaceAsync(created with { State = UploadState.Completed, ExpiresAt = null }, Ct)).Record!;
        Assert.Equal("2", replaced.Version);
        Assert.Equal("2|Completed|", await RowAsync(schema, created.Id));

        var third = (await store.TryReplaceAsync(replaced with { State = UploadState.Expired, ExpiresAt = T0 }, Ct)).Record!;
        Assert.Equal("3", third.Version);

        // The version is a column, never part of the stored document.
        var doc = await postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT doc FROM {schema}.uploads WHERE id = '{created.Id}'", Ct);
        Assert.Equal(UploadRecordJson.Serialize(third), doc);
        Assert.DoesNotContain("\"version\"", doc, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("1.0")]
    [InlineData("99999999999999999999999")]
    public async Task Unparseable_versions_conflict_without_throwing(string version)
    {
        var store = Store(PostgresFixture.NewSchema());
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(Record(), Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceAsync(created with { Version = version }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteAsync(created.Id, version, Ct));
        Assert.Equal(MetadataWriteStatus.NotFound, (await store.TryReplaceAsync(Record() with { Version = version }, Ct)).Status);
        Assert.Equal("1", (await store.GetAsync(created.Id, Ct))!.Version);
    }

    [Fact]
    public async Task Expiry_is_exact_to_the_tick()
    {
        var store = Store(PostgresFixture.NewSchema());
        await store.InitializeAsync(Ct);
        var due = (await store.CreateAsync(Record() with { ExpiresAt = T0.AddTicks(-1) }, Ct)).Record!;
        var now = (await store.CreateAsync(Record() with { ExpiresAt = T0.ToOffset(TimeSpan.FromHours(-5)) }, Ct)).Record!;
        await store.CreateAsync(Record() with { ExpiresAt = T0.AddTicks(1) }, Ct);

        var listed = new List<UploadRecord>();
        await foreach (var record in store.ListExpiredAsync(T0, 10, Ct))
        {
            listed.Add(record);
        }

        Assert.Equal([due.Id, now.Id], listed.Select(r => r.Id));
        Assert.Equal(TimeSpan.FromHours(-5), listed[1].ExpiresAt!.Value.Offset);
    }

    [Fact]
    public async Task A_missing_database_is_a_permanent_failure_naming_the_sqlstate()
    {
        var store = Store(new PostgresMetadataOptions { ConnectionString = postgres.Server.ConnectionString("no_such_database") });

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => store.InitializeAsync(Ct));

        Assert.False(error.IsTransient);
        Assert.Equal("3D000", error.ErrorCode);
        Assert.Contains("PostgreSQL metadata store (schema storagebridge) refused the call: 3D000", error.Message, StringComparison.Ordinal);
        Assert.IsType<Npgsql.PostgresException>(error.InnerException);
    }

    [Fact]
    public async Task A_user_without_rights_on_the_tables_gets_a_permanent_failure()
    {
        var schema = PostgresFixture.NewSchema();
        await Store(schema).InitializeAsync(Ct);
        var role = "r" + Guid.NewGuid().ToString("N")[..8];
        await postgres.Server.PsqlAsync(PostgresFixture.Database, $"CREATE ROLE {role} LOGIN; GRANT USAGE ON SCHEMA {schema} TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}", Ct);
        var reader = Store(new PostgresMetadataOptions
        {
            ConnectionString = $"Host=127.0.0.1;Port={postgres.Server.Port};Username={role};Database={PostgresFixture.Database}",
            Schema = schema,
            MigrateSchema = false,
        });
        await reader.InitializeAsync(Ct); // reading the schema version needs SELECT only

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => reader.CreateAsync(Record(), Ct));

        Assert.False(error.IsTransient);
        Assert.Equal("42501", error.ErrorCode);
    }

    [Theory]
    [InlineData("08006", true)]
    [InlineData("40001", true)]
    [InlineData("40P01", true)]
    [InlineData("53300", true)]
    [InlineData("57P01", true)]
    [InlineData("57P03", true)]
    [InlineData("25006", true)]
    [InlineData("42501", false)]
    [InlineData("42P01", false)]
    [InlineData("28P01", false)]
    [InlineData("23505", false)]
    [InlineData(null, false)]
    public void Sqlstates_are_classified(string? sqlState, bool transient) =>
        Assert.Equal(transient, PostgresUploadMetadataStore.IsTransientState(sqlState));

    private PostgresUploadMetadataStore Store(string schema) =>
        Store(new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString, Schema = schema });

    private PostgresUploadMetadataStore Store(PostgresMetadataOptions options)
    {
        var store = new PostgresUploadMetadataStore(options);
        _stores.Add(store);
        return store;
    }

    private static UploadRecord Record() => new()
    {
        Id = UploadIds.New(),
        Target = "default",
        ObjectKey = "k",
        CreatedAt = T0,
        UpdatedAt = T0,
    };

    private Task<string> RowAsync(string schema, string id) =>
        postgres.Server.PsqlAsync(PostgresFixture.Database, $"SELECT version || '|' || state || '|' || coalesce(expires_at_ticks::text, '') FROM {schema}.uploads WHERE id = '{id}'", Ct);

    private Task<string> ColumnsAsync(string database, string schema, string table) =>
        postgres.Server.PsqlAsync(
            database,
            $"SELECT string_agg(column_name || ':' || data_type || ':' || is_nullable, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_schema = '{schema}' AND table_name = '{table}'",
            Ct);
}
