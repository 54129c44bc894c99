using Microsoft.Extensions.Configuration;

namespace StorageBridge.Backends;

/// <summary>Creates the backend of a target from its configuration section; one factory per <c>Backend</c> value.</summary>
public interface IUploadBackendFactory
{
    /// <summary>The <c>Backend</c> value this factory answers to (e.g. "FileSystem", "S3").</summary>
    string Name { get; }

    /// <summary>Validates the section and builds the backend; throws StorageBridgeConfigurationException naming the key.</summary>
    IUploadBackend Create(string targetName, IConfigurationSection section);
}
