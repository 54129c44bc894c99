using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// Upload records in a PostgreSQL table: one row per upload holding the shared JSON document
/// (<see cref="UploadRecordJson"/>) plus the columns the store queries on, and a bigint version column for optimistic
/// concurrency (compare-and-swap on every replace and delete), so any number of instances can share one database.
/// </summary>
/// <remarks>
/// Every operation borrows a pooled connection from one <see cref="NpgsqlDataSource"/> and is a single statement in its
/// own implicit transaction: a conditional replace answers "done" or "lost" and "exists or not" in one round trip. The
/// store is safe to share between any number of tasks. Connection failures are retried a few times (the pool is cleared
/// first, so connections that died with a restarted server are not handed out again); a retried write whose first
/// attempt did land is recognised and reported as the success it was.
/// </remarks>
public sealed partial class PostgresUploadMetadataStore : IUploadMetadataStore, IAsyncDisposable, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly PostgresMetadataOptions _options;
    private readonly ILogger _logger;
    private readonly PostgresTableNames _tables;

    private readonly string _selectById;
    private readonly string _insert;
    private readonly string _update;
    private readonly string _delete;
    private readonly string _selectExpired;
    private readonly string _selectDueEvents;
    private readonly string _selectExists;

    /// <summary>A store on its own data source built from <see cref="PostgresMetadataOptions.ConnectionString"/> (or on <see cref="PostgresMetadataOptions.DataSource"/> when set).</summary>
    public PostgresUploadMetadataStore(PostgresMetadataOptions options, ILogger<PostgresUploadMetadataStore>? logger = null)
        : this(options?.DataSource ?? BuildDataSource(options), options!, options?.DataSource is null, logger)
    {
    }

    /// <summary>A store on a data source the application owns (not disposed here); the options' ConnectionString is ignored.</summary>
    public PostgresUploadMetadataStore(NpgsqlDataSource dataSource, PostgresMetadataOptions options, ILogger<PostgresUploadMetadataStore>? logger = null)
        : this(dataSource, options, ownsDataSource: false, logger)
    {
    }

    private PostgresUploadMetadataStore(NpgsqlDataSource dataSource, PostgresMetadataOptions options, bool ownsDataSource, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentNullException.ThrowIfNull(options);
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _tables = new PostgresTableNames(options.Schema, options.TablePrefix);

        var uploads = _tables.Uploads;
        _selectById = $"SELECT version, doc FROM {uploads} WHERE id = @id";
        _selectExists = $"SELECT EXISTS (SELECT 1 FROM {uploads} WHERE id = @id)";
        _insert =
            $"INSERT INTO {uploads} (id, version, state, expires_at_ticks, events_due_ticks, doc) VALUES (@id, 1, @state, @expires, @events_due, @doc) " +
            "ON CONFLICT (id) DO NOTHING";

        // One round trip: the new version when the swap happened, and whether the row exists at all (the outer
        // SELECT sees the snapshot before the update, so a swapped row counts as existing).
        _update =
            $"WITH swapped AS (UPDATE {uploads} SET version = version + 1, state = @state, expires_at_ticks = @expires, events_due_ticks = @events_due, doc = @doc " +
            "WHERE id = @id AND version = @version RETURNING version) " +
            $"SELECT (SELECT version FROM swapped), EXISTS (SELECT 1 FROM {uploads} WHERE id = @id)";
        _delete =
            $"WITH gone AS (DELETE FROM {uploads} WHERE id = @id AND version = @version RETURNING 1) " +
            $"SELECT EXISTS (SELECT 1 FROM gone), EXISTS (SELECT 1 FROM {uploads} WHERE id = @id)";
        _selectExpired =
            $"SELECT version, doc FROM {uploads} WHERE expires_at_ticks <= @now ORDER BY expires_at_ticks, id LIMIT @limit";
        _selectDueEvents =
            $"SELECT version, doc FROM {uploads} WHERE events_due_ticks <= @now ORDER BY events_due_ticks, id LIMIT @limit";

        (_insertLookup, _updateLookup, _deleteLookup, _selectLookup, _deleteExpiredLookups) = LookupStatements(_tables.Lookups);
    }

    /// <summary>What failures name: the schema, never the connection string.</summary>
    private string BackendName => $"PostgreSQL metadata store (schema {_options.Schema})";

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var doc = UploadRecordJson.Serialize(record);
        return RunAsync("create", async (connection, retried, ct) =>
        {
            await using var command = new NpgsqlCommand(_insert, connection);
            AddRowParameters(command, record, doc);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
            {
                return MetadataWriteResult.Success(record with { Version = FormatVersion(1) });
            }

            return retried
                ? await LandedEarlierAsync(connection, record.Id, doc, ct).ConfigureAwait(false)
                : MetadataWriteResult.Conflict;
        }, cancellationToken);
    }

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return RunAsync("read", (connection, _, ct) => ReadRecordAsync(connection, id, ct), cancellationToken);
    }

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var doc = UploadRecordJson.Serialize(record);
        return RunAsync("replace", async (connection, retried, ct) =>
        {
            if (!TryParseVersion(record.Version, out var expected))
            {
                // A version this store never issued cannot match; still tell a missing record apart.
                return await ExistsAsync(connection, record.Id, ct).ConfigureAwait(false)
                    ? MetadataWriteResult.Conflict
                    : MetadataWriteResult.NotFound;
            }

            await using var command = new NpgsqlCommand(_update, connection);
            AddRowParameters(command, record, doc);
            command.Parameters.Add(new NpgsqlParameter<long>("version", expected));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await reader.ReadAsync(ct).ConfigureAwait(false);
            if (!reader.IsDBNull(0))
            {
                return MetadataWriteResult.Success(record with { Version = FormatVersion(reader.GetInt64(0)) });
            }

            var exists = reader.GetBoolean(1);
            await reader.DisposeAsync().ConfigureAwait(false);
            return (exists, retried) switch
            {
                (false, _) => MetadataWriteResult.NotFound,
                (true, true) => await LandedEarlierAsync(connection, record.Id, doc, ct).ConfigureAwait(false),
                (true, false) => MetadataWriteResult.Conflict,
            };
        }, cancellationToken);
    }

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        return RunAsync("delete", async (connection, _, ct) =>
        {
            if (!TryParseVersion(version, out var expected))
            {
                return await ExistsAsync(connection, id, ct).ConfigureAwait(false)
                    ? MetadataWriteStatus.Conflict
                    : MetadataWriteStatus.NotFound;
            }

            await using var command = new NpgsqlCommand(_delete, connection);
            command.Parameters.Add(new NpgsqlParameter<string>("id", id));
            command.Parameters.Add(new NpgsqlParameter<long>("version", expected));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await reader.ReadAsync(ct).ConfigureAwait(false);

            // A retried delete whose first attempt landed answers NotFound, which callers treat like success.
            return (reader.GetBoolean(0), reader.GetBoolean(1)) switch
            {
                (true, _) => MetadataWriteStatus.Success,
                (false, true) => MetadataWriteStatus.Conflict,
                (false, false) => MetadataWriteStatus.NotFound,
            };
        }, cancellationToken);
    }

    public IAsyncEnumerable<UploadRecord> ListExpiredAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ListDueAsync(_selectExpired, "expiry query", now, limit, cancellationToken);

    /// <summary>An index range read on (events_due_ticks, id), like the expiry query.</summary>
    public IAsyncEnumerable<UploadRecord> ListDueEventsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        ListDueAsync(_selectDueEvents, "due events query", now, limit, cancellationToken);

    /// <summary>Records a due-time query (<c>@now</c>, <c>@limit</c>) returns, oldest first.</summary>
    private async IAsyncEnumerable<UploadRecord> ListDueAsync(
        string query, string operation, DateTimeOffset now, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            yield break;
        }

        // Read the batch up front: a caller that works through it slowly (deleting backend objects, delivering events)
        // must not hold a pooled connection (and its snapshot) meanwhile.
        var records = await RunAsync(operation, async (connection, _, ct) =>
        {
            var due = new List<UploadRecord>(Math.Min(limit, 256));
            await using var command = new NpgsqlCommand(query, connection);
            command.Parameters.Add(new NpgsqlParameter<long>("now", now.UtcTicks));
            command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                due.Add(UploadRecordJson.Deserialize(reader.GetString(1), FormatVersion(reader.GetInt64(0))));
            }

            return due;
        }, cancellationToken).ConfigureAwait(false);

        foreach (var record in records)
        {
            yield return record;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (_ownsDataSource)
        {
            _dataSource.Dispose();
        }
    }

    /// <summary>
    /// A write retried after a connection failure finds the row already changed when its first attempt did land (only
    /// the answer was lost). If the stored document is exactly what we wrote, report that success instead of a phantom
    /// lost race, so the caller neither redoes nor abandons a write that is in place.
    /// </summary>
    private async Task<MetadataWriteResult> LandedEarlierAsync(NpgsqlConnection connection, string id, string doc, CancellationToken cancellationToken)
    {
        var current = await ReadRecordAsync(connection, id, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return MetadataWriteResult.NotFound;
        }

        return string.Equals(UploadRecordJson.Serialize(current), doc, StringComparison.Ordinal)
            ? MetadataWriteResult.Success(current)
            : MetadataWriteResult.Conflict;
    }

    private async Task<UploadRecord?> ReadRecordAsync(NpgsqlConnection connection, string id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(_selectById, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? UploadRecordJson.Deserialize(reader.GetString(1), FormatVersion(reader.GetInt64(0)))
            : null;
    }

    private async Task<bool> ExistsAsync(NpgsqlConnection connection, string id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(_selectExists, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("id", id));
        return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    private static void AddRowParameters(NpgsqlCommand command, UploadRecord record, string doc)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("id", record.Id));
        command.Parameters.Add(new NpgsqlParameter<string>("state", record.State.ToString()));
        command.Parameters.Add(new NpgsqlParameter("expires", NpgsqlDbType.Bigint) { Value = record.ExpiresAt is { } expires ? expires.UtcTicks : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("events_due", NpgsqlDbType.Bigint) { Value = record.EventsDueAt is { } due ? due.UtcTicks : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<string>("doc", doc));
    }

    private static string FormatVersion(long version) => version.ToString(CultureInfo.InvariantCulture);

    private static bool TryParseVersion(string? version, out long value) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value > 0;

    private static NpgsqlDataSource BuildDataSource(PostgresMetadataOptions? options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            throw new ArgumentException("The PostgreSQL metadata store needs a connection string or a data source.", nameof(options));
        }

        var connection = new NpgsqlConnectionStringBuilder(options.ConnectionString);
        if (string.IsNullOrEmpty(connection.ApplicationName))
        {
            // Shows in pg_stat_activity, so an operator can tell the bridge's sessions apart.
            connection.ApplicationName = "StorageBridge";
        }

        return new NpgsqlDataSourceBuilder(connection.ConnectionString).Build();
    }
}
