using Microsoft.Extensions.Configuration;
using StorageBridge.Backends;

namespace StorageBridge.FileSystem;

/// <summary><c>Backend: FileSystem</c> with <c>Root</c> (default ./data).</summary>
public sealed class FileSystemBackendFactory : IUploadBackendFactory
{
    public string Name => "FileSystem";

    public IUploadBackend Create(string targetName, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var root = section["Root"] is { Length: > 0 } configured ? configured : "data";
        return new FileSystemBackend(new FileSystemBackendOptions { Root = Path.GetFullPath(root) });
    }
}
