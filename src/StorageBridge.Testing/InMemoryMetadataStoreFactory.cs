namespace StorageBridge.Metadata;

/// <summary><c>Provider: InMemory</c>: for tests and experiments only (nothing survives a restart or is shared).</summary>
internal sealed class InMemoryMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "InMemory";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services) => new InMemoryUploadMetadataStore();
}
