using StorageBridge.Tests.Conformance;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>The full metadata-store conformance suite on Cosmos DB: every store gets its own container.</summary>
[Collection(CosmosCollection.Name)]
public sealed class CosmosMetadataStoreTests(CosmosEmulatorFixture emulator) : MetadataStoreConformanceTests
{
    private const string Database = "sb-conformance";
    private readonly List<CosmosUploadMetadataStore> _stores = [];
    private readonly List<string> _containers = [];

    protected override async Task<IUploadMetadataStore> CreateStoreAsync()
    {
        _containers.Add("c" + Guid.NewGuid().ToString("N"));
        return await OpenAsync();
    }

    protected override Task<IUploadMetadataStore> CreateSecondInstanceAsync() =>
        _containers.Count == 0
            ? throw new InvalidOperationException("Create the first store before the second.")
            : OpenAsync(); // its own CosmosClient, as a second process would have

    public override async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        // The bundled emulator is in memory; a real account must not keep the per-test containers.
        if (!emulator.IsBundledEmulator)
        {
            using var client = emulator.CreateClient();
            foreach (var container in _containers)
            {
                try
                {
                    await client.GetContainer(Database, container).DeleteContainerAsync();
                }
                catch (Microsoft.Azure.Cosmos.CosmosException)
                {
                }
            }
        }

        await base.DisposeAsync();
    }

    private async Task<IUploadMetadataStore> OpenAsync()
    {
        var store = new CosmosUploadMetadataStore(emulator.Options(Database, _containers[^1]));
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }
}
