namespace StorageBridge.Metadata.Sqlite;

/// <summary>
/// Where the SQLite metadata store keeps its database (section <c>StorageBridge:Metadata</c> with <c>Provider: Sqlite</c>,
/// or <c>UseSqliteMetadata(o =&gt; ...)</c>).
/// </summary>
public sealed record SqliteMetadataOptions
{
    /// <summary>
    /// Default database file, relative to the working directory: beside the default FileSystem target's data/objects,
    /// never inside it (an object key could name the database otherwise; the factory refuses that layout at start-up).
    /// </summary>
    public const string DefaultPath = "data/metadata/storagebridge.db";

    /// <summary>
    /// <c>ConnectionString</c>: full Microsoft.Data.Sqlite connection string. When set it wins over <see cref="Path"/>;
    /// its directory is still created when it names a file.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>Path</c>: database file, relative to the working directory unless rooted. Its directory is created if missing.</summary>
    public string Path { get; set; } = DefaultPath;

    /// <summary><c>BusyTimeout</c>: how long a statement waits for another connection's write lock (SQLite busy_timeout) before failing.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(5);
}
