using StorageBridge.Tests.Conformance;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>The full metadata-store conformance suite on DynamoDB (moto): every store gets its own table.</summary>
[Collection(MotoCollection.Name)]
public sealed class DynamoDbMetadataStoreTests(MotoFixture moto) : MetadataStoreConformanceTests
{
    private readonly List<DynamoDbUploadMetadataStore> _stores = [];
    private string? _table;

    protected override async Task<IUploadMetadataStore> CreateStoreAsync()
    {
        _table = MotoFixture.NewTableName();
        return await OpenAsync(_table);
    }

    protected override Task<IUploadMetadataStore> CreateSecondInstanceAsync() =>
        _table is null
            ? throw new InvalidOperationException("Create the first store before the second.")
            : OpenAsync(_table); // its own client, as a second process would have

    public override Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        return base.DisposeAsync();
    }

    private async Task<IUploadMetadataStore> OpenAsync(string table)
    {
        var store = new DynamoDbUploadMetadataStore(moto.Options(table));
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }
}
