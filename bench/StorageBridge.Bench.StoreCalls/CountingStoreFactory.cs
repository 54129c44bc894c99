using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Metadata;

namespace StorageBridge.Bench.StoreCalls;

/// <summary>The store the engine gets: the registered SQLite store behind a <see cref="CountingMetadataStore"/>.</summary>
internal sealed class CountingStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "Counting";

    private CountingMetadataStore? _store;

    public string Name => ProviderName;

    public CountingMetadataStore Store => _store ?? throw new InvalidOperationException("The store was not created yet.");

    public IUploadMetadataStore Create(IServiceProvider services)
    {
        var sqlite = services.GetServices<IUploadMetadataStoreFactory>().Single(f => f.Name == "Sqlite");
        return _store = new CountingMetadataStore(sqlite.Create(services));
    }
}
