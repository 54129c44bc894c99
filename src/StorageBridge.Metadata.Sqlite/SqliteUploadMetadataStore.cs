using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Sqlite;

/// <summary>
/// Upload records in one SQLite file: one row per upload holding the shared JSON document
/// (<see cref="UploadRecordJson"/>) plus the columns the store queries on, and an integer version column for
/// optimistic concurrency (compare-and-swap on every replace and delete).
/// </summary>
/// <remarks>
/// Every operation opens its own connection (Microsoft.Data.Sqlite pools the native handles), so the store is safe
/// to share between any number of tasks; several instances or processes may use the same file. The database runs in
/// WAL mode, so readers never wait for the writer. Writers from one instance queue on an async gate instead of spinning
/// in SQLite's busy handler; writers from other instances or processes wait through <c>busy_timeout</c>.
/// </remarks>
public sealed partial class SqliteUploadMetadataStore : IUploadMetadataStore
{
    private const int SchemaVersion = 2;

    private const string SelectById = "SELECT version, doc FROM uploads WHERE id = $id";
    private const string SelectExists = "SELECT 1 FROM uploads WHERE id = $id";
    private const string Insert =
        "INSERT INTO uploads (id, version, state, expires_at, events_due_at, doc) VALUES ($id, 1, $state, $expires_at, $events_due_at, $doc) " +
        "ON CONFLICT (id) DO NOTHING";
    private const string Update =
        "UPDATE uploads SET version = version + 1, state = $state, expires_at = $expires_at, events_due_at = $events_due_at, doc = $doc " +
        "WHERE id = $id AND version = $version";
    private const string Delete = "DELETE FROM uploads WHERE id = $id AND version = $version";
    private const string SelectExpired =
        "SELECT version, doc FROM uploads WHERE expires_at IS NOT NULL AND expires_at <= $now " +
        "ORDER BY expires_at, id LIMIT $limit";
    private const string SelectDueEvents =
        "SELECT version, doc FROM uploads WHERE events_due_at IS NOT NULL AND events_due_at <= $now " +
        "ORDER BY events_due_at, id LIMIT $limit";

    private readonly string _connectionString;
    private readonly string? _directory;
    private readonly string _configureConnection;

    // Native handles (pooled across SqliteConnection objects) that already carry this store's per-connection pragmas.
    private readonly ConditionalWeakTable<sqlite3, object> _configuredHandles = new();

    // Serializes this instance's writers without blocking threads; SQLite admits one writer per file anyway.
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    public SqliteUploadMetadataStore(SqliteMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        var builder = string.IsNullOrWhiteSpace(options.ConnectionString)
            ? new SqliteConnectionStringBuilder { DataSource = System.IO.Path.GetFullPath(options.Path) }
            : new SqliteConnectionStringBuilder(options.ConnectionString);
        if (string.IsNullOrWhiteSpace(builder.DataSource))
        {
            throw new ArgumentException("The SQLite metadata store needs a database file.", nameof(options));
        }

        _connectionString = builder.ToString();
        DatabaseFile = IsFileDatabase(builder) ? System.IO.Path.GetFullPath(builder.DataSource) : null;
        _directory = DatabaseFile is null ? null : System.IO.Path.GetDirectoryName(DatabaseFile);

        var busyMs = (long)Math.Clamp(options.BusyTimeout.TotalMilliseconds, 0, int.MaxValue);
        _configureConnection = string.Create(
            CultureInfo.InvariantCulture, $"PRAGMA busy_timeout = {busyMs}; PRAGMA synchronous = NORMAL;");
    }

    /// <summary>Full path of the database file; null for an in-memory or <c>file:</c> URI database.</summary>
    internal string? DatabaseFile { get; }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_directory is not null)
        {
            Directory.CreateDirectory(_directory);
        }

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);

        // Persistent in the file: once one connection has switched, every later connection (any process) is in WAL.
        // In-memory databases answer "memory", which is all they support.
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        // BEGIN IMMEDIATE: a second process starting at the same moment waits here (busy_timeout) and then finds
        // the schema in place.
        await using var transaction =
            (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA user_version";
        var version = Convert.ToInt64(
            await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        if (version > SchemaVersion)
        {
            throw new InvalidOperationException(
                $"The metadata database has schema version {version}; this build understands up to {SchemaVersion}.");
        }

        command.CommandText =
            """
            CREATE TABLE IF NOT EXISTS uploads (
                id TEXT NOT NULL PRIMARY KEY,
                version INTEGER NOT NULL,
                state TEXT NOT NULL,
                expires_at INTEGER NULL,
                events_due_at INTEGER NULL,
                doc TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ix_uploads_expires_at ON uploads (expires_at, id);
            """ + CreateLookupsTable;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);

        // Version 2 added the outbox's due time; a database written by version 1 gets the column here.
        command.CommandText = "SELECT COUNT(*) FROM pragma_table_info('uploads') WHERE name = 'events_due_at'";
        if (Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 0)
        {
            command.CommandText = "ALTER TABLE uploads ADD COLUMN events_due_at INTEGER NULL";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        command.CommandText =
            """
            CREATE INDEX IF NOT EXISTS ix_uploads_events_due_at ON uploads (events_due_at, id) WHERE events_due_at IS NOT NULL;
            PRAGMA user_version = 2;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<MetadataWriteResult> CreateCoreAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var doc = UploadRecordJson.Serialize(record);

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = Insert;
        AddRowParameters(command, record, doc);

        var inserted = await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false);
        return inserted == 1
            ? MetadataWriteResult.Success(record with { Version = FormatVersion(1) })
            : MetadataWriteResult.Conflict;
    }

    private async Task<UploadRecord?> GetCoreAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = SelectById;
        command.Parameters.AddWithValue("$id", id);

        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadRecord(reader) : null;
    }

    private async Task<MetadataWriteResult> TryReplaceCoreAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (!TryParseVersion(record.Version, out var expected))
        {
            // A version this store never issued cannot match; still tell a missing record apart.
            return await ExistsAsync(connection, record.Id, cancellationToken).ConfigureAwait(false)
                ? MetadataWriteResult.Conflict
                : MetadataWriteResult.NotFound;
        }

        var doc = UploadRecordJson.Serialize(record);
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = Update;
            AddRowParameters(command, record, doc);
            command.Parameters.AddWithValue("$version", expected);

            if (await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false) == 1)
            {
                return MetadataWriteResult.Success(record with { Version = FormatVersion(expected + 1) });
            }
        }

        return await ExistsAsync(connection, record.Id, cancellationToken).ConfigureAwait(false)
            ? MetadataWriteResult.Conflict
            : MetadataWriteResult.NotFound;
    }

    private async Task<MetadataWriteStatus> TryDeleteCoreAsync(string id, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);

        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (TryParseVersion(version, out var expected))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = Delete;
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$version", expected);

            if (await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false) == 1)
            {
                return MetadataWriteStatus.Success;
            }
        }

        return await ExistsAsync(connection, id, cancellationToken).ConfigureAwait(false)
            ? MetadataWriteStatus.Conflict
            : MetadataWriteStatus.NotFound;
    }

    public IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ListDueAsync(SelectExpired, now, limit, cancellationToken);

    public IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ListDueAsync(SelectDueEvents, now, limit, cancellationToken);

    /// <summary>Records a due-time query (<c>$now</c>, <c>$limit</c>) returns, oldest first.</summary>
    private async IAsyncEnumerable<UploadRecord> ListDueAsync(
        string query, DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        // Read the batch up front: a caller that works through it slowly (deleting backend objects, delivering events)
        // must not hold a read transaction open, which would keep WAL checkpoints from completing.
        var records = new List<UploadRecord>(Math.Min(limit, 256));
        await using (var connection = await OpenAsync(cancellationToken).ConfigureAwait(false))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = query;
            command.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            command.Parameters.AddWithValue("$limit", limit);

            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                records.Add(ReadRecord(reader));
            }
        }

        foreach (var record in records)
        {
            yield return record;
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);

            // busy_timeout and synchronous are per connection; pooled handles keep them, so set them once per handle.
            var handle = connection.Handle!;
            if (!_configuredHandles.TryGetValue(handle, out _))
            {
                await using var command = connection.CreateCommand();
                command.CommandText = _configureConnection;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                _configuredHandles.TryAdd(handle, handle);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<int> ExecuteWriteAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static async Task<bool> ExistsAsync(SqliteConnection connection, string id, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = SelectExists;
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null;
    }

    private static void AddRowParameters(SqliteCommand command, UploadRecord record, string doc)
    {
        command.Parameters.AddWithValue("$id", record.Id);
        command.Parameters.AddWithValue("$state", record.State.ToString());
        command.Parameters.AddWithValue(
            "$expires_at", record.ExpiresAt is { } expires ? expires.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue(
            "$events_due_at", record.EventsDueAt is { } due ? due.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue("$doc", doc);
    }

    private static UploadRecord ReadRecord(SqliteDataReader reader) =>
        UploadRecordJson.Deserialize(reader.GetString(1), FormatVersion(reader.GetInt64(0)));

    private static string FormatVersion(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static bool TryParseVersion(string? version, out long value) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;

    private static bool IsFileDatabase(SqliteConnectionStringBuilder builder) =>
        builder.Mode != SqliteOpenMode.Memory
        && builder.DataSource is { Length: > 0 } source
        && !string.Equals(source, ":memory:", StringComparison.Ordinal)
        && !source.StartsWith("file:", StringComparison.OrdinalIgnoreCase);
}
