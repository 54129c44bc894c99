using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;
using StorageBridge.FileSystem;
using StorageBridge.Targets;

namespace StorageBridge.Metadata.Sqlite;

/// <summary><c>Provider: Sqlite</c> (keys: see <see cref="SqliteMetadataOptions"/>).</summary>
internal sealed class SqliteMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "Sqlite";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services)
    {
        var store = new SqliteUploadMetadataStore(services.GetRequiredService<IOptions<SqliteMetadataOptions>>().Value);
        if (store.DatabaseFile is { } file && services.GetService<UploadTargetRegistry>() is { } targets)
        {
            RefuseDatabaseInsideFileTargets(file, targets, services.GetService<StorageBridgeConfigurationSource>());
        }

        return store;
    }

    /// <summary>
    /// A FileSystem target whose root holds the database would let an object key (say <c>{filename}/{id}</c> with a file
    /// named like the database) collide with it, and the target's files would be the store's: refused at start-up.
    /// </summary>
    internal static void RefuseDatabaseInsideFileTargets(string databaseFile, UploadTargetRegistry targets, StorageBridgeConfigurationSource? source)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        foreach (var target in targets.All)
        {
            if (target.Backend is not FileSystemBackend files)
            {
                continue;
            }

            var root = Path.TrimEndingDirectorySeparator(files.Root) + Path.DirectorySeparatorChar;
            if (databaseFile.StartsWith(root, comparison))
            {
                var targetPath = source?.TargetPath(target.Name) ?? $"{TargetConfiguration.SectionName}:Targets:{target.Name}";
                var metadataPath = source?.MetadataPath ?? $"{TargetConfiguration.SectionName}:Metadata";
                throw new StorageBridgeConfigurationException(
                    $"{targetPath}:Root",
                    $"the SQLite metadata database ({metadataPath}:Path = '{databaseFile}') lies inside this FileSystem target's root "
                    + $"('{files.Root}'), where object keys could name it. Keep them apart, for example Root 'data/objects' and "
                    + "Metadata:Path 'data/metadata/storagebridge.db' (docs/configuration.md describes moving an existing ./data).");
            }
        }
    }
}
