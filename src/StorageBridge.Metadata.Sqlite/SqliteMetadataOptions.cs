namespace StorageBridge.Metadata.Sqlite;

/// <summary>Where the SQLite metadata store keeps its database.</summary>
public sealed record SqliteMetadataOptions
{
    /// <summary>Default database file, relative to the working directory.</summary>
    public const string DefaultPath = "data/storagebridge.db";

    /// <summary>
    /// Full Microsoft.Data.Sqlite connection string. When set it wins over <see cref="Path"/>; its directory is
    /// still created when it names a file.
    /// </summary>
    public string? ConnectionString { get; init; }

    /// <summary>Database file, relative to the working directory unless rooted. Its directory is created if missing.</summary>
    public string Path { get; init; } = DefaultPath;

    /// <summary>How long a statement waits for another connection's write lock (SQLite busy_timeout) before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
