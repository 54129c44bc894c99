using StorageBridge.Metadata;

namespace Microsoft.Extensions.DependencyInjection;

public static class InMemoryMetadataBuilderExtensions
{
    /// <summary>
    /// Keeps upload records in this process's memory (tests only). Selected unless the configuration's
    /// <c>Metadata:Provider</c> or an earlier <c>Use...Metadata</c> call chose another store.
    /// </summary>
    public static IStorageBridgeBuilder UseInMemoryMetadata(this IStorageBridgeBuilder builder) =>
        builder.UseMetadataStore<InMemoryMetadataStoreFactory>(InMemoryMetadataStoreFactory.ProviderName);
}
