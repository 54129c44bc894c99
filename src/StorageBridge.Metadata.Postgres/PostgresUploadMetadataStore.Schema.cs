using Microsoft.Extensions.Logging;
using Npgsql;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// The schema, created or migrated by <see cref="InitializeAsync"/>: a <c>schema_version</c> table lists the migrations
/// applied; each start applies the missing ones in one transaction under an advisory lock, so instances starting at once
/// take turns and the later ones find the work done.
/// </summary>
public sealed partial class PostgresUploadMetadataStore
{
    /// <summary>Advisory-lock class id for migrations (ASCII "SB"); the object id is a hash of schema and prefix.</summary>
    private const int MigrationLockClass = 0x5342;

    /// <summary>The migrations in order; version n is the n-th entry. Never edit one that shipped: add the next.</summary>
    private static readonly (string Description, Func<PostgresTableNames, string> Sql)[] Migrations =
    [
        ("uploads and lookups", t =>
            $"""
            CREATE TABLE {t.Uploads} (
                id text COLLATE "C" NOT NULL PRIMARY KEY,
                version bigint NOT NULL,
                state text NOT NULL,
                expires_at_ticks bigint NULL,
                doc text NOT NULL
            );
            CREATE INDEX {t.UploadsExpiryIndex} ON {t.Uploads} (expires_at_ticks, id) WHERE expires_at_ticks IS NOT NULL;
            CREATE TABLE {t.Lookups} (
                key text COLLATE "C" NOT NULL PRIMARY KEY,
                version bigint NOT NULL,
                upload_id text NOT NULL,
                created_at text NOT NULL,
                updated_at text NOT NULL,
                expires_at text NULL,
                expires_at_ticks bigint NULL
            );
            CREATE INDEX {t.LookupsExpiryIndex} ON {t.Lookups} (expires_at_ticks) WHERE expires_at_ticks IS NOT NULL;
            """),
        ("completion event outbox due time", t =>
            $"""
            ALTER TABLE {t.Uploads} ADD COLUMN IF NOT EXISTS events_due_ticks bigint NULL;
            CREATE INDEX IF NOT EXISTS {t.UploadsEventsDueIndex} ON {t.Uploads} (events_due_ticks, id) WHERE events_due_ticks IS NOT NULL;
            """),
    ];

    /// <summary>The schema version this build reads and writes.</summary>
    public static int SchemaVersion => Migrations.Length;

    public Task InitializeAsync(CancellationToken cancellationToken) =>
        RunAsync("initialize", async (connection, _, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            await ExecuteAsync(
                connection,
                "SELECT pg_advisory_xact_lock(@class, hashtext(@name))",
                ct,
                new NpgsqlParameter<int>("class", MigrationLockClass),
                new NpgsqlParameter<string>("name", _tables.LockName)).ConfigureAwait(false);

            if (_options.MigrateSchema)
            {
                // Checked first: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a user given
                // an existing schema may not have.
                if (!await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = @schema)", ct, new NpgsqlParameter<string>("schema", _options.Schema)).ConfigureAwait(false))
                {
                    await ExecuteAsync(connection, $"CREATE SCHEMA {_tables.Schema}", ct).ConfigureAwait(false);
                }

                await ExecuteAsync(
                    connection,
                    $"CREATE TABLE IF NOT EXISTS {_tables.SchemaVersion} (version integer NOT NULL PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    ct).ConfigureAwait(false);
            }

            var current = await ReadSchemaVersionAsync(connection, ct).ConfigureAwait(false);
            if (current > SchemaVersion)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL metadata schema {_options.Schema} has version {current}; this build understands up to {SchemaVersion}.");
            }

            if (current < SchemaVersion && !_options.MigrateSchema)
            {
                throw new InvalidOperationException(
                    $"The PostgreSQL metadata schema {_options.Schema} has version {current}; this build needs {SchemaVersion} and MigrateSchema is off (apply the migrations or turn it on).");
            }

            for (var version = current + 1; version <= SchemaVersion; version++)
            {
                var (description, sql) = Migrations[version - 1];
                await ExecuteAsync(connection, sql(_tables), ct).ConfigureAwait(false);
                await ExecuteAsync(
                    connection,
                    $"INSERT INTO {_tables.SchemaVersion} (version, description) VALUES (@version, @description)",
                    ct,
                    new NpgsqlParameter<int>("version", version),
                    new NpgsqlParameter<string>("description", description)).ConfigureAwait(false);
            }

            await transaction.CommitAsync(ct).ConfigureAwait(false);
            if (current < SchemaVersion)
            {
                Log.SchemaMigrated(_logger, _options.Schema, current, SchemaVersion);
            }

            Log.Ready(_logger, _options.Schema, SchemaVersion, connection.Host ?? "", connection.Port, connection.Database);
            return true;
        }, cancellationToken);

    private async Task<int> ReadSchemaVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        // to_regclass: a missing table (MigrateSchema off, nothing applied yet) reads as version 0, not an error.
        var exists = await ScalarAsync<bool>(connection, "SELECT to_regclass(@table) IS NOT NULL", cancellationToken, new NpgsqlParameter<string>("table", _tables.SchemaVersion)).ConfigureAwait(false);
        return exists
            ? await ScalarAsync<int>(connection, $"SELECT coalesce(max(version), 0) FROM {_tables.SchemaVersion}", cancellationToken).ConfigureAwait(false)
            : 0;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
