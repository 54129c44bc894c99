using StorageBridge.Tests.Conformance;

namespace StorageBridge.Metadata.Postgres.Tests;

/// <summary>The metadata-store conformance suite on a real PostgreSQL server, each store in a schema of its own.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresMetadataStoreTests(PostgresFixture postgres) : MetadataStoreConformanceTests
{
    private readonly List<PostgresUploadMetadataStore> _stores = [];
    private string? _lastSchema;

    protected override Task<IUploadMetadataStore> CreateStoreAsync()
    {
        _lastSchema = PostgresFixture.NewSchema();
        return OpenAsync(_lastSchema);
    }

    protected override Task<IUploadMetadataStore> CreateSecondInstanceAsync() =>
        OpenAsync(_lastSchema ?? throw new InvalidOperationException("Create the first store before the second."));

    public override async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private async Task<IUploadMetadataStore> OpenAsync(string schema)
    {
        // Its own data source (and so its own pool), as another process would have.
        var store = new PostgresUploadMetadataStore(new PostgresMetadataOptions { ConnectionString = postgres.ConnectionString, Schema = schema });
        _stores.Add(store);
        await store.InitializeAsync(Ct);
        return store;
    }
}
