using Microsoft.Extensions.Logging;
using Npgsql;
using StorageBridge.Backends;

namespace StorageBridge.Metadata.Postgres;

/// <summary>
/// Every operation goes through <see cref="RunAsync{T}"/>: PostgreSQL errors become <see cref="StorageBackendException"/>
/// saying whether they are transient (the server unreachable or restarting, a dropped connection, serialization
/// failures and deadlocks, too many connections, a full disk, a read-only standby after a fail-over); transient ones are
/// retried a few times with backoff before they surface (front-ends answer 503 with Retry-After).
/// </summary>
public sealed partial class PostgresUploadMetadataStore
{
    private const int MaxAttempts = 4;

    /// <summary>
    /// Runs <paramref name="operation"/> on a pooled connection. Its second argument says whether an earlier attempt
    /// failed after it may have reached the server (a write may then already be in place).
    /// </summary>
    private async Task<T> RunAsync<T>(string name, Func<NpgsqlConnection, bool, CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        var retried = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
                return await operation(connection, retried, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (Classify(ex, cancellationToken) is { } failure)
            {
                if (IsConnectionLost(ex))
                {
                    // Idle pooled connections died with the same server (restart, fail-over): open fresh ones.
                    _dataSource.Clear();
                }

                if (!failure.IsTransient || attempt >= MaxAttempts)
                {
                    throw failure;
                }

                retried = true;
                var delay = Backoff(attempt);
                Log.RetryingTransient(_logger, failure.ErrorCode ?? ex.GetType().Name, name, attempt, MaxAttempts, (long)delay.TotalMilliseconds);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(100 * (1 << (attempt - 1)));

    /// <summary>The storage exception for a PostgreSQL failure, or null for exceptions that keep their type (cancellation, bugs).</summary>
    internal StorageBackendException? Classify(Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            StorageBackendException => null,
            PostgresException postgres => new StorageBackendException(BackendName, IsTransientState(postgres.SqlState), null, postgres.SqlState, postgres),
            // No server answer: connect refused, stream closed mid-command, timeouts, an exhausted pool.
            NpgsqlException npgsql => new StorageBackendException(BackendName, isTransient: true, null, null, npgsql),
            OperationCanceledException when !cancellationToken.IsCancellationRequested =>
                new StorageBackendException(BackendName, isTransient: true, null, "Timeout", exception),
            _ when StorageBackendException.IsNetworkFailure(exception) => new StorageBackendException(BackendName, isTransient: true, null, null, exception),
            _ => null,
        };
    }

    /// <summary>
    /// SQLSTATEs that may clear on their own: connection exceptions (08), serialization failure and deadlock (40001,
    /// 40P01), insufficient resources (53: too many connections, disk full, out of memory), lock not available (55P03),
    /// statement timeout (57014), shutdown and start-up (57P01–57P05), system errors (58000, 58030) and a read-only
    /// transaction (25006: connected to a standby, e.g. during a fail-over). Everything else (privileges, missing tables,
    /// bad credentials) stays until someone changes the configuration.
    /// </summary>
    internal static bool IsTransientState(string? sqlState) =>
        sqlState is { Length: 5 }
        && (sqlState.StartsWith("08", StringComparison.Ordinal)
            || sqlState.StartsWith("53", StringComparison.Ordinal)
            || sqlState.StartsWith("57P", StringComparison.Ordinal)
            || sqlState is "40001" or "40P01" or "55P03" or "57014" or "58000" or "58030" or "25006");

    private static bool IsConnectionLost(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState is { } s && (s.StartsWith("08", StringComparison.Ordinal) || s.StartsWith("57P", StringComparison.Ordinal)),
        NpgsqlException => true,
        _ => false,
    };

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Postgres.Ready, LogLevel.Information, "PostgreSQL metadata store ready: schema {Schema} at version {Version} on {Host}:{Port}/{Database}")]
        public static partial void Ready(ILogger logger, string schema, int version, string host, int port, string database);

        [LoggerMessage(Diagnostics.EventIds.Postgres.SchemaMigrated, LogLevel.Information, "PostgreSQL metadata schema {Schema} migrated from version {From} to {To}")]
        public static partial void SchemaMigrated(ILogger logger, string schema, int from, int to);

        [LoggerMessage(Diagnostics.EventIds.Postgres.RetryingTransient, LogLevel.Warning, "PostgreSQL failed with {Error} during {Operation}; retry {Attempt} of {MaxAttempts} in {DelayMs} ms")]
        public static partial void RetryingTransient(ILogger logger, string error, string operation, int attempt, int maxAttempts, long delayMs);
    }
}
