using Microsoft.Data.Sqlite;
using StorageBridge.Diagnostics;

namespace StorageBridge.Metadata.Sqlite;

/// <summary>
/// Readiness: one primary-key lookup of an id no upload can have (upload ids are lowercase hex), which opens a
/// pooled connection and reads the uploads table.
/// </summary>
public sealed partial class SqliteUploadMetadataStore : IStorageReadinessProbe
{
    public string Location
    {
        get
        {
            var source = new SqliteConnectionStringBuilder(_connectionString).DataSource;
            var isFile = source.Length > 0 && !source.StartsWith(':') && !source.StartsWith("file:", StringComparison.OrdinalIgnoreCase);
            return $"SQLite {(isFile ? Path.GetFullPath(source) : source)}";
        }
    }

    public async ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        await GetAsync("readiness-probe", cancellationToken).ConfigureAwait(false);
}
