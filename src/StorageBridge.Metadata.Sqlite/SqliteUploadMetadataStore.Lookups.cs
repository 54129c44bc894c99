using System.Globalization;
using Microsoft.Data.Sqlite;

namespace StorageBridge.Metadata.Sqlite;

/// <summary>
/// Lookups (<see cref="UploadLookup"/>) in their own table <c>lookups</c>: one row per key with an integer version for
/// compare-and-swap, the instants as round-trip ("O") text so offsets and ticks survive exactly, and the expiry also as
/// UTC ticks for the sweep's index (exact: an entry due at this very tick is due).
/// </summary>
public sealed partial class SqliteUploadMetadataStore
{
    /// <summary>Run by <see cref="InitializeAsync"/> on every start: databases made before lookups existed get the table.</summary>
    private const string CreateLookupsTable =
        """
        CREATE TABLE IF NOT EXISTS lookups (
            key TEXT NOT NULL PRIMARY KEY,
            version INTEGER NOT NULL,
            upload_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at TEXT NULL,
            expires_at_ticks INTEGER NULL
        );
        CREATE INDEX IF NOT EXISTS ix_lookups_expires_at ON lookups (expires_at_ticks);
        """;

    private const string LookupColumns = "key, version, upload_id, created_at, updated_at, expires_at";
    private const string InsertLookup =
        "INSERT INTO lookups (key, version, upload_id, created_at, updated_at, expires_at, expires_at_ticks) " +
        "VALUES ($key, 1, $upload_id, $created_at, $updated_at, $expires_at, $expires_at_ticks) ON CONFLICT (key) DO NOTHING";
    private const string UpdateLookup =
        "UPDATE lookups SET version = version + 1, upload_id = $upload_id, created_at = $created_at, updated_at = $updated_at, " +
        "expires_at = $expires_at, expires_at_ticks = $expires_at_ticks WHERE key = $key AND version = $version";
    private const string DeleteLookup = "DELETE FROM lookups WHERE key = $key AND version = $version";
    private const string DeleteExpiredLookups =
        "DELETE FROM lookups WHERE key IN (SELECT key FROM lookups WHERE expires_at_ticks IS NOT NULL AND expires_at_ticks <= $now " +
        "ORDER BY expires_at_ticks LIMIT $limit)";

    public Task<LookupWriteResult> TryAddLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Classify(TryAddLookupCoreAsync(lookup, cancellationToken));

    public Task<UploadLookup?> GetLookupAsync(string key, CancellationToken cancellationToken) =>
        Classify(GetLookupCoreAsync(key, cancellationToken));

    public Task<LookupWriteResult> TryReplaceLookupAsync(UploadLookup lookup, CancellationToken cancellationToken) =>
        Classify(TryReplaceLookupCoreAsync(lookup, cancellationToken));

    public Task<MetadataWriteStatus> TryDeleteLookupAsync(string key, string version, CancellationToken cancellationToken) =>
        Classify(TryDeleteLookupCoreAsync(key, version, cancellationToken));

    public Task<int> DeleteExpiredLookupsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Classify(DeleteExpiredLookupsCoreAsync(now, limit, cancellationToken));

    private async Task<LookupWriteResult> TryAddLookupCoreAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = InsertLookup;
        AddLookupParameters(command, lookup);
        return await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false) == 1
            ? LookupWriteResult.Success(lookup with { Version = FormatVersion(1) })
            : LookupWriteResult.Conflict;
    }

    private async Task<UploadLookup?> GetLookupCoreAsync(string key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ReadLookupAsync(connection, key, cancellationToken).ConfigureAwait(false);
    }

    private async Task<LookupWriteResult> TryReplaceLookupCoreAsync(UploadLookup lookup, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lookup);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (TryParseVersion(lookup.Version, out var expected))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = UpdateLookup;
            AddLookupParameters(command, lookup);
            command.Parameters.AddWithValue("$version", expected);
            if (await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false) == 1)
            {
                return LookupWriteResult.Success(lookup with { Version = FormatVersion(expected + 1) });
            }
        }

        return await ReadLookupAsync(connection, lookup.Key, cancellationToken).ConfigureAwait(false) is null
            ? LookupWriteResult.NotFound
            : LookupWriteResult.Conflict;
    }

    private async Task<MetadataWriteStatus> TryDeleteLookupCoreAsync(string key, string version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        if (TryParseVersion(version, out var expected))
        {
            await using var command = connection.CreateCommand();
            command.CommandText = DeleteLookup;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$version", expected);
            if (await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false) == 1)
            {
                return MetadataWriteStatus.Success;
            }
        }

        return await ReadLookupAsync(connection, key, cancellationToken).ConfigureAwait(false) is null
            ? MetadataWriteStatus.NotFound
            : MetadataWriteStatus.Conflict;
    }

    private async Task<int> DeleteExpiredLookupsCoreAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = DeleteExpiredLookups;
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$limit", limit);
        return await ExecuteWriteAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<UploadLookup?> ReadLookupAsync(SqliteConnection connection, string key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {LookupColumns} FROM lookups WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
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

    private static void AddLookupParameters(SqliteCommand command, UploadLookup lookup)
    {
        command.Parameters.AddWithValue("$key", lookup.Key);
        command.Parameters.AddWithValue("$upload_id", lookup.UploadId);
        command.Parameters.AddWithValue("$created_at", lookup.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$updated_at", lookup.UpdatedAt.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$expires_at", lookup.ExpiresAt is { } expires ? expires.ToString("O", CultureInfo.InvariantCulture) : DBNull.Value);
        command.Parameters.AddWithValue("$expires_at_ticks", lookup.ExpiresAt is { } due ? due.UtcTicks : DBNull.Value);
    }

    private static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.ParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.None);
}
