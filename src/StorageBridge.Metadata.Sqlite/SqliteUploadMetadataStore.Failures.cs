using Microsoft.Data.Sqlite;
using StorageBridge.Backends;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Sqlite;

/// <summary>
/// Every record operation goes through <see cref="Classify{T}"/>: SQLite errors become <see cref="StorageBackendException"/>
/// saying whether they are transient (busy or locked past busy_timeout, I/O errors, a full disk).
/// </summary>
public sealed partial class SqliteUploadMetadataStore
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;

    public Task<MetadataWriteResult> CreateAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Classify(CreateCoreAsync(record, cancellationToken));

    public Task<UploadRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        Classify(GetCoreAsync(id, cancellationToken));

    public Task<MetadataWriteResult> TryReplaceAsync(UploadRecord record, CancellationToken cancellationToken) =>
        Classify(TryReplaceCoreAsync(record, cancellationToken));

    public Task<MetadataWriteStatus> TryDeleteAsync(string id, string version, CancellationToken cancellationToken) =>
        Classify(TryDeleteCoreAsync(id, version, cancellationToken));

    /// <summary>The storage exception for a SQLite failure, or null for exceptions that keep their type (cancellation, bugs).</summary>
    internal static StorageBackendException? Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            SqliteException sqlite => new StorageBackendException(
                "SQLite metadata store",
                (sqlite.SqliteErrorCode & 0xFF) is SqliteBusy or SqliteLocked or SqliteIoError or SqliteFull,
                null,
                "SQLITE_" + sqlite.SqliteErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
                sqlite),
            _ when exception is not (FileNotFoundException or DirectoryNotFoundException) && StorageBackendException.IsNetworkFailure(exception) =>
                new StorageBackendException("SQLite metadata store", isTransient: true, null, null, exception),
            _ => null,
        };
    }

    private static async Task<T> Classify<T>(Task<T> call)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex) is { } failure)
        {
            throw failure;
        }
    }
}
