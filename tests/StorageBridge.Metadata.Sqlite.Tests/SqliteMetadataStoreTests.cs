using Microsoft.Data.Sqlite;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Sqlite;
using StorageBridge.Tests.Conformance;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Sqlite.Tests;

/// <summary>The metadata-store conformance suite on SQLite files in a per-test temp directory, plus SQLite specifics.</summary>
public sealed class SqliteMetadataStoreTests : MetadataStoreConformanceTests
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sb-sqlite-tests", Guid.NewGuid().ToString("N"));
    private string? _lastPath;
    private int _databases;

    protected override async Task<IUploadMetadataStore> CreateStoreAsync()
    {
        _lastPath = Path.Combine(_root, $"db{++_databases}", "metadata.db");
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = _lastPath });
        await store.InitializeAsync(Ct);
        return store;
    }

    protected override async Task<IUploadMetadataStore> CreateSecondInstanceAsync()
    {
        var path = _lastPath ?? throw new InvalidOperationException("Create the first store before the second.");

        // A different connection string gets its own connection pool, as another process would have.
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { ConnectionString = SecondConnectionString(path) });
        await store.InitializeAsync(Ct);
        return store;
    }

    public override async Task DisposeAsync()
    {
        // Pooled connections keep the files open; drop ours before deleting the directory.
        for (var i = 1; i <= _databases; i++)
        {
            var path = Path.Combine(_root, $"db{i}", "metadata.db");
            ClearPool($"Data Source={path}");
            ClearPool(SecondConnectionString(path));
        }

        try
        {
            if (Directory.Exists(_root))
            {
                Directory.Delete(_root, recursive: true);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail the test.
        }
        catch (UnauthorizedAccessException)
        {
        }

        await base.DisposeAsync();
    }

    [Fact]
    public async Task Database_runs_in_wal_mode()
    {
        await CreateStoreAsync();

        Assert.Equal("wal", await ScalarAsync(_lastPath!, "PRAGMA journal_mode"));
    }

    [Fact]
    public async Task Schema_has_the_expected_table_and_expiry_index()
    {
        await CreateStoreAsync();

        var columns = await ScalarAsync(
            _lastPath!, "SELECT group_concat(name || ':' || type || ':' || \"notnull\" || ':' || pk, ',') FROM pragma_table_info('uploads')");
        Assert.Equal("id:TEXT:1:1,version:INTEGER:1:0,state:TEXT:1:0,expires_at:INTEGER:0:0,events_due_at:INTEGER:0:0,doc:TEXT:1:0", columns);
        Assert.Equal(
            "expires_at,id",
            await ScalarAsync(_lastPath!, "SELECT group_concat(name, ',') FROM pragma_index_info('ix_uploads_expires_at')"));
        Assert.Equal(
            "events_due_at,id",
            await ScalarAsync(_lastPath!, "SELECT group_concat(name, ',') FROM pragma_index_info('ix_uploads_events_due_at')"));
        Assert.Equal(2L, await ScalarAsync(_lastPath!, "PRAGMA user_version"));
    }

    [Fact]
    public async Task Initializing_twice_and_from_a_new_instance_keeps_the_data()
    {
        var store = (SqliteUploadMetadataStore)await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()) with { Offset = 3 }, Ct)).Record!;

        await store.InitializeAsync(Ct);
        await store.InitializeAsync(Ct);
        var again = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = _lastPath! });
        await again.InitializeAsync(Ct);

        var read = await again.GetAsync(created.Id, Ct);
        Assert.NotNull(read);
        Assert.Equal("1", read.Version);
        Assert.Equal(3, read.Offset);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(read with { Offset = 4 }, Ct)).Status);
    }

    [Fact]
    public async Task Instances_starting_at_once_on_a_new_file_all_initialize()
    {
        var path = Path.Combine(_root, "race", "metadata.db");
        var stores = Enumerable.Range(0, 6)
            .Select(i => new SqliteUploadMetadataStore(new SqliteMetadataOptions
            {
                // Distinct connection strings: separate pools, like separate processes.
                ConnectionString = $"Data Source={path};Default Timeout={30 + i}",
            }))
            .ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inits = stores.Select(s => Task.Run(async () =>
        {
            await start.Task;
            await s.InitializeAsync(Ct);
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(inits);

        var created = (await stores[0].CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;
        foreach (var store in stores)
        {
            Assert.Equal(created.Version, (await store.GetAsync(created.Id, Ct))!.Version);
        }

        Assert.Equal("wal", await ScalarAsync(path, "PRAGMA journal_mode"));
        for (var i = 0; i < stores.Length; i++)
        {
            ClearPool($"Data Source={path};Default Timeout={30 + i}");
        }
    }

    [Fact]
    public async Task Missing_directories_are_created()
    {
        var path = Path.Combine(_root, "a", "b", "c", "uploads.db");
        Assert.False(Directory.Exists(Path.Combine(_root, "a")));
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = path });

        await store.InitializeAsync(Ct);

        Assert.True(File.Exists(path));
        var created = await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct);
        Assert.Equal(MetadataWriteStatus.Success, created.Status);
        ClearPool($"Data Source={path}");
    }

    [Fact]
    public async Task Connection_string_wins_over_path_and_its_directory_is_created()
    {
        var path = Path.Combine(_root, "from-connection-string", "x.db");
        var ignored = Path.Combine(_root, "from-path", "y.db");
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions
        {
            ConnectionString = $"Data Source={path}",
            Path = ignored,
        });

        await store.InitializeAsync(Ct);

        Assert.True(File.Exists(path));
        Assert.False(Directory.Exists(Path.GetDirectoryName(ignored)));
        ClearPool($"Data Source={path}");
    }

    [Fact]
    public void Default_path_is_relative_to_the_working_directory()
    {
        var options = new SqliteMetadataOptions();

        Assert.Equal("data/metadata/storagebridge.db", options.Path);
        Assert.Null(options.ConnectionString);
        Assert.Equal(TimeSpan.FromSeconds(5), options.BusyTimeout);
    }

    [Fact]
    public async Task Versions_are_decimal_counters_and_columns_follow_the_document()
    {
        var store = await CreateStoreAsync();
        var expires = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 250, TimeSpan.FromHours(3));
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = expires }, Ct)).Record!;
        Assert.Equal("1", created.Version);
        Assert.Equal("1|Open|" + expires.ToUnixTimeMilliseconds(), await RowAsync(created.Id));

        var replaced = (await store.TryReplaceAsync(created with { State = UploadState.Completed, ExpiresAt = null }, Ct)).Record!;
        Assert.Equal("2", replaced.Version);
        Assert.Equal("2|Completed|", await RowAsync(created.Id));

        var third = (await store.TryReplaceAsync(replaced with { State = UploadState.Expired, ExpiresAt = expires }, Ct)).Record!;
        Assert.Equal("3", third.Version);
        Assert.Equal("3|Expired|1748768400250", await RowAsync(created.Id));

        // The version is a column, never part of the stored document.
        var doc = (string)(await ScalarAsync(_lastPath!, $"SELECT doc FROM uploads WHERE id = '{created.Id}'"))!;
        Assert.DoesNotContain("\"version\"", doc, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(UploadRecordJson.Serialize(third), doc);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("0")]
    [InlineData("1.0")]
    [InlineData("0x1")]
    [InlineData("99999999999999999999999")]
    public async Task Unparseable_versions_conflict_without_throwing(string version)
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        Assert.Equal(MetadataWriteStatus.Conflict, (await store.TryReplaceAsync(created with { Version = version }, Ct)).Status);
        Assert.Equal(MetadataWriteStatus.Conflict, await store.TryDeleteAsync(created.Id, version, Ct));
        Assert.Equal(
            MetadataWriteStatus.NotFound,
            (await store.TryReplaceAsync(MinimalRecord(UploadIds.New()) with { Version = version }, Ct)).Status);
        Assert.Equal("1", (await store.GetAsync(created.Id, Ct))!.Version);
    }

    [Fact]
    public async Task Expiry_compares_whole_milliseconds()
    {
        var store = await CreateStoreAsync();
        var now = new DateTimeOffset(2025, 6, 1, 12, 0, 0, 500, TimeSpan.Zero);
        var due = (await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = now.AddTicks(-1) }, Ct)).Record!;
        await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = now.AddMilliseconds(1) }, Ct);

        var listed = new List<UploadRecord>();
        await foreach (var record in store.ListExpiredAsync(now, 10, Ct))
        {
            listed.Add(record);
        }

        Assert.Equal(due.Id, Assert.Single(listed).Id);
        Assert.Equal(now.AddTicks(-1), listed[0].ExpiresAt);
    }

    [Fact]
    public async Task List_expired_rejects_a_negative_limit_and_returns_nothing_for_zero()
    {
        var store = await CreateStoreAsync();
        await store.CreateAsync(MinimalRecord(UploadIds.New()) with { ExpiresAt = T0.AddDays(-1) }, Ct);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
        {
            await foreach (var unused in store.ListExpiredAsync(T0, -1, Ct))
            {
            }
        });
        await foreach (var unused in store.ListExpiredAsync(T0, 0, Ct))
        {
            Assert.Fail("limit 0 must list nothing");
        }
    }

    [Fact]
    public async Task Writer_holding_the_lock_in_another_connection_is_waited_for()
    {
        var store = await CreateStoreAsync();
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        // Another process holds the write lock for a moment; the store must wait (busy_timeout), not fail.
        await using var blocker = new SqliteConnection(ConnectionStringFor(_lastPath!));
        await blocker.OpenAsync(Ct);
        var transaction = (SqliteTransaction)await blocker.BeginTransactionAsync(Ct);
        await using (var write = blocker.CreateCommand())
        {
            write.Transaction = transaction;
            write.CommandText = "UPDATE uploads SET state = state";
            await write.ExecuteNonQueryAsync(Ct);
        }

        var replace = Task.Run(() => store.TryReplaceAsync(created with { Offset = 5 }, Ct));
        var read = await store.GetAsync(created.Id, Ct); // WAL: readers are not blocked by the writer
        Assert.Equal(0, read!.Offset);
        await Task.Delay(300, Ct);
        Assert.False(replace.IsCompleted);

        await transaction.CommitAsync(Ct);
        await transaction.DisposeAsync();
        var result = await replace;

        Assert.Equal(MetadataWriteStatus.Success, result.Status);
        Assert.Equal(5, (await store.GetAsync(created.Id, Ct))!.Offset);
    }

    [Fact]
    public async Task Writer_holding_the_lock_past_busy_timeout_fails_as_a_transient_storage_error()
    {
        await CreateStoreAsync();
        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { ConnectionString = SecondConnectionString(_lastPath!), BusyTimeout = TimeSpan.FromMilliseconds(100) });
        await store.InitializeAsync(Ct);
        var created = (await store.CreateAsync(MinimalRecord(UploadIds.New()), Ct)).Record!;

        await using var blocker = new SqliteConnection(ConnectionStringFor(_lastPath!));
        await blocker.OpenAsync(Ct);
        await using var transaction = (SqliteTransaction)await blocker.BeginTransactionAsync(Ct);
        await using (var write = blocker.CreateCommand())
        {
            write.Transaction = transaction;
            write.CommandText = "UPDATE uploads SET state = state";
            await write.ExecuteNonQueryAsync(Ct);
        }

        var error = await Assert.ThrowsAsync<StorageBridge.Backends.StorageBackendException>(() => store.TryReplaceAsync(created with { Offset = 5 }, Ct));

        Assert.True(error.IsTransient);
        Assert.Equal("SQLITE_5", error.ErrorCode);
        Assert.IsType<SqliteException>(error.InnerException);
        await transaction.RollbackAsync(Ct);
        Assert.Equal(0, (await store.GetAsync(created.Id, Ct))!.Offset);
    }

    [Fact]
    public async Task A_database_made_before_lookups_gets_the_lookups_table_at_start_up()
    {
        var path = Path.Combine(_root, "old", "metadata.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var record = MinimalRecord(UploadIds.New());
        await using (var connection = new SqliteConnection(ConnectionStringFor(path)))
        {
            await connection.OpenAsync(Ct);
            await using var command = connection.CreateCommand();
            // The schema as the store wrote it before lookups existed, with one record.
            command.CommandText =
                """
                CREATE TABLE uploads (id TEXT NOT NULL PRIMARY KEY, version INTEGER NOT NULL, state TEXT NOT NULL, expires_at INTEGER NULL, doc TEXT NOT NULL);
                CREATE INDEX ix_uploads_expires_at ON uploads (expires_at, id);
                PRAGMA user_version = 1;
                INSERT INTO uploads (id, version, state, expires_at, doc) VALUES ($id, 3, 'Open', NULL, $doc);
                """;
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$doc", UploadRecordJson.Serialize(record));
            await command.ExecuteNonQueryAsync(Ct);
        }

        var store = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = path });
        await store.InitializeAsync(Ct);

        Assert.Equal("3", (await store.GetAsync(record.Id, Ct))!.Version);
        var lookup = new UploadLookup { Key = "rjs-old", UploadId = record.Id, CreatedAt = T0, UpdatedAt = T0, ExpiresAt = T0.AddHours(1) };
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryAddLookupAsync(lookup, Ct)).Status);
        Assert.Equal(record.Id, (await store.GetLookupAsync("rjs-old", Ct))!.UploadId);

        // Version 2: the outbox's due-time column is added to the old table, and the old record can carry an event.
        Assert.Equal(2L, await ScalarAsync(path, "PRAGMA user_version"));
        var completed = (await store.GetAsync(record.Id, Ct))!;
        var withEvent = WithOutbox(completed, T0);
        Assert.Equal(MetadataWriteStatus.Success, (await store.TryReplaceAsync(withEvent, Ct)).Status);
        await foreach (var due in store.ListDueEventsAsync(T0, 10, Ct))
        {
            Assert.Equal(record.Id, due.Id);
        }

        Assert.Equal(T0.ToUnixTimeMilliseconds(), await ScalarAsync(path, "SELECT events_due_at FROM uploads"));
        ClearPool($"Data Source={path}");
    }

    private static string SecondConnectionString(string path) => $"Data Source={path};Cache=Private";

    // Distinct from the store's own strings so inspection never borrows (or reconfigures) a store connection.
    private static string ConnectionStringFor(string path) => $"Data Source={path};Pooling=False";

    private static async Task<object?> ScalarAsync(string path, string sql)
    {
        await using var connection = new SqliteConnection(ConnectionStringFor(path));
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }

    private async Task<string?> RowAsync(string id) =>
        (string?)await ScalarAsync(
            _lastPath!, $"SELECT version || '|' || state || '|' || ifnull(expires_at, '') FROM uploads WHERE id = '{id}'");

    private static void ClearPool(string connectionString)
    {
        using var connection = new SqliteConnection(connectionString);
        SqliteConnection.ClearPool(connection);
    }
}
