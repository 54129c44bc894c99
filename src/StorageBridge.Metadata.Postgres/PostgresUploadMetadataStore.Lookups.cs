using System.Globalization;
using Npgsql;
using NpgsqlTypes;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// Lookups (<see cref="UploadLookup"/>) in their own table <c>lookups</c>, so the upload expiry scan never sees them:
/// one row per key with a bigint version for compare-and-swap, the instants as round-trip ("O") text so offsets and
/// ticks survive exactly, and the expiry also as UTC ticks for the sweep's index (exact: an entry due at this very tick
/// is due).
/// </summary>
public sealed partial class PostgresUploadMetadataStore
{
    private const string LookupColumns = "key, version, upload_id, created_at, updated_at, expires_at";

    private readonly string _insertLookup;
    private readonly string _updateLookup;
    private readonly string _deleteLookup;
    private readonly string _selectLookup;
    private readonly string _deleteExpiredLookups;

    private static (string Insert, string Update, string Delete, string Select, string DeleteExpired) LookupStatements(string lookups) =>
    (
        $"INSERT INTO {lookups} (key, version, upload_id, created_at, updated_at, expires_at, expires_at_ticks) " +
        "VALUES (@key, 1, @upload_id, @created_at, @updated_at, @expires_at, @expires_at_ticks) ON CONFLICT (key) DO NOTHING",
        $"WITH swapped AS (UPDATE {lookups} SET version = version + 1, upload_id = @upload_id, created_at = @created_at, " +
        "updated_at = @updated_at, expires_at = @expires_at, expires_at_ticks = @expires_at_ticks " +
        "WHERE key = @key AND version = @version RETURNING version) " +
        $"SELECT (SELECT version FROM swapped), EXISTS (SELECT 1 FROM {lookups} WHERE key = @key)",
        $"WITH gone AS (DELETE FROM {lookups} WHERE key = @key AND version = @version RETURNING 1) " +
        $"SELECT EXISTS (SELECT 1 FROM gone), EXISTS (SELECT 1 FROM {lookups} WHERE key = @key)",
        $"SELECT {LookupColumns} FROM {lookups} WHERE key = @key",
        // SKIP LOCKED: instances sweeping at once share the work instead of queueing on each other's rows; FOR UPDATE
        // re-checks the expiry of a row another writer just replaced.
        $"DELETE FROM {lookups} WHERE key IN (SELECT key FROM {lookups} WHERE expires_at_ticks <= @now " +
        "ORDER BY expires_at_ticks LIMIT @limit FOR UPDATE SKIP LOCKED)");

    public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        return RunAsync("add lookup", async (connection, retried, ct) =>
        {
            await using var command = new NpgsqlCommand(_insertLookup, connection);
            AddLookupParameters(command, lookup);
            if (await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1)
            {
                return LookupWriteResult.Success(lookup with { Version = FormatVersion(1) });
            }

            return retried
                ? await LookupLandedEarlierAsync(connection, lookup, ct).ConfigureAwait(false)
                : LookupWriteResult.Conflict;
        }, cancellationToken);
    }

    public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return RunAsync("read lookup", (connection, _, ct) => ReadLookupAsync(connection, key, ct), cancellationToken);
    }

    public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        return RunAsync("replace lookup", async (connection, retried, ct) =>
        {
            if (!TryParseVersion(lookup.Version, out var expected))
            {
                return await ReadLookupAsync(connection, lookup.Key, ct).ConfigureAwait(false) is null
                    ? LookupWriteResult.NotFound
                    : LookupWriteResult.Conflict;
            }

            bool exists;
            await using (var command = new NpgsqlCommand(_updateLookup, connection))
            {
                AddLookupParameters(command, lookup);
                command.Parameters.Add(new NpgsqlParameter<long>("version", expected));
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                await reader.ReadAsync(ct).ConfigureAwait(false);
                if (!reader.IsDBNull(0))
                {
                    return LookupWriteResult.Success(lookup with { Version = FormatVersion(reader.GetInt64(0)) });
                }

                exists = reader.GetBoolean(1);
            }

            return (exists, retried) switch
            {
                (false, _) => LookupWriteResult.NotFound,
                (true, true) => await LookupLandedEarlierAsync(connection, lookup, ct).ConfigureAwait(false),
                (true, false) => LookupWriteResult.Conflict,
            };
        }, cancellationToken);
    }

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return RunAsync("delete lookup", async (connection, _, ct) =>
        {
            if (!TryParseVersion(version, out var expected))
            {
                return await ReadLookupAsync(connection, key, ct).ConfigureAwait(false) is null
                    ? MetadataWriteStatus.NotFound
                    : MetadataWriteStatus.Conflict;
            }

            await using var command = new NpgsqlCommand(_deleteLookup, connection);
            command.Parameters.Add(new NpgsqlParameter<string>("key", key));
            command.Parameters.Add(new NpgsqlParameter<long>("version", expected));
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            await reader.ReadAsync(ct).ConfigureAwait(false);
            return (reader.GetBoolean(0), reader.GetBoolean(1)) switch
            {
                (true, _) => MetadataWriteStatus.Success,
                (false, true) => MetadataWriteStatus.Conflict,
                (false, false) => MetadataWriteStatus.NotFound,
            };
        }, cancellationToken);
    }

    public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        if (limit == 0)
        {
            return Task.FromResult(0);
        }

        return RunAsync("lookup sweep", async (connection, _, ct) =>
        {
            await using var command = new NpgsqlCommand(_deleteExpiredLookups, connection);
            command.Parameters.Add(new NpgsqlParameter<long>("now", now.UtcTicks));
            command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>Like <see cref="LandedEarlierAsync"/> for lookups: the stored entry equal to ours means our earlier attempt wrote it.</summary>
    private async Task<LookupWriteResult> LookupLandedEarlierAsync(NpgsqlConnection connection, UploadLookup written, CancellationToken cancellationToken)
    {
        var current = await ReadLookupAsync(connection, written.Key, cancellationToken).ConfigureAwait(false);
        if (current is null)
        {
            return LookupWriteResult.NotFound;
        }

        return current with { Version = "" } == written with { Version = "" }
            && current.CreatedAt.Offset == written.CreatedAt.Offset
            && current.UpdatedAt.Offset == written.UpdatedAt.Offset
            ? LookupWriteResult.Success(current)
            : LookupWriteResult.Conflict;
    }

    private async Task<UploadLookup?> ReadLookupAsync(NpgsqlConnection connection, string key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(_selectLookup, connection);
        command.Parameters.Add(new NpgsqlParameter<string>("key", key));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return new UploadLookup
        {
            Key = reader.GetString(0),
            Version = FormatVersion(reader.GetInt64(1)),
            UploadId = reader.GetString(2),
            CreatedAt = ParseInstant(reader.GetString(3)),
            UpdatedAt = ParseInstant(reader.GetString(4)),
            ExpiresAt = reader.IsDBNull(5) ? null : ParseInstant(reader.GetString(5)),
        };
    }

    private static void AddLookupParameters(NpgsqlCommand command, UploadLookup lookup)
    {
        command.Parameters.Add(new NpgsqlParameter<string>("key", lookup.Key));
        command.Parameters.Add(new NpgsqlParameter<string>("upload_id", lookup.UploadId));
        command.Parameters.Add(new NpgsqlParameter<string>("created_at", FormatInstant(lookup.CreatedAt)));
        command.Parameters.Add(new NpgsqlParameter<string>("updated_at", FormatInstant(lookup.UpdatedAt)));
        command.Parameters.Add(new NpgsqlParameter("expires_at", NpgsqlDbType.Text) { Value = lookup.ExpiresAt is { } expires ? FormatInstant(expires) : DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("expires_at_ticks", NpgsqlDbType.Bigint) { Value = lookup.ExpiresAt is { } due ? due.UtcTicks : DBNull.Value });
    }

    private static string FormatInstant(DateTimeOffset instant) => instant.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);
}
