using Microsoft.Extensions.Configuration;

namespace StorageBridge.Metadata;

/// <summary>Creates the metadata store named by <c>StorageBridge:Metadata:Provider</c>; one factory per provider.</summary>
public interface IUploadMetadataStoreFactory
{
    /// <summary>The <c>Provider</c> value this factory answers to (e.g. "Sqlite", "Cosmos").</summary>
    string Name { get; }

    /// <summary>Validates the section and builds the store; throws StorageBridgeConfigurationException naming the key.</summary>
    IUploadMetadataStore Create(IConfigurationSection section);
}

/// <summary><c>Provider: InMemory</c>: for tests and experiments only.</summary>
public sealed class InMemoryMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public string Name => "InMemory";

    public IUploadMetadataStore Create(IConfigurationSection section) => new InMemoryUploadMetadataStore();
}
