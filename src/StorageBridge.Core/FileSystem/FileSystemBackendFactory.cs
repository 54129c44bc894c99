using StorageBridge.Backends;
using StorageBridge.Configuration;

namespace StorageBridge.FileSystem;

/// <summary><c>Backend: FileSystem</c>.</summary>
internal sealed class FileSystemBackendFactory : UploadBackendFactory<FileSystemTargetOptions>
{
    public override string Name => "FileSystem";

    protected override IUploadBackend CreateBackend(string targetName, string path, FileSystemTargetOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FileSystemBackend(new FileSystemBackendOptions { Root = options.ResolveRoot() });
    }
}

/// <summary>A <c>Backend: FileSystem</c> target: <c>Root</c> plus the common target keys.</summary>
public sealed class FileSystemTargetOptions : StorageBridgeTargetOptions
{
    /// <summary>
    /// The embedded default's folder, relative to the current working directory: a folder of its own, so no object key
    /// can name a file that is not an object (the SQLite store's default database lives in data/metadata).
    /// </summary>
    public const string DefaultRoot = "data/objects";

    /// <summary><c>Root</c>: folder of the completed objects; relative paths resolve against the current working directory.</summary>
    public string Root { get; set; } = DefaultRoot;

    internal string ResolveRoot() => Path.GetFullPath(string.IsNullOrEmpty(Root) ? DefaultRoot : Root);
}
