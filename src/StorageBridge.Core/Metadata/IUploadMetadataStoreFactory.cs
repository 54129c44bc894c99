namespace StorageBridge.Metadata;

/// <summary>Creates the metadata store named by <c>StorageBridge:Metadata:Provider</c>; one factory per provider.</summary>
public interface IUploadMetadataStoreFactory
{
    /// <summary>The <c>Provider</c> value this factory answers to (e.g. "Sqlite", "Cosmos").</summary>
    string Name { get; }

    /// <summary>Reads the store's options (a bad value throws StorageBridgeConfigurationException naming the key) and builds the store.</summary>
    IUploadMetadataStore Create(IServiceProvider services);
}
