using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>UseCosmosMetadata with the application's own CosmosClient from DI: the store works on it and leaves it open.</summary>
[Collection(CosmosCollection.Name)]
public sealed class CosmosClientFromServicesTests(CosmosEmulatorFixture emulator) : IDisposable
{
    private readonly string _files = Directory.CreateTempSubdirectory("sb-cosmos-di-").FullName;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    public void Dispose()
    {
        _timeout.Dispose();
        Directory.Delete(_files, recursive: true);
    }

    [Fact]
    public async Task The_store_uses_the_injected_client_and_does_not_dispose_it()
    {
        var ct = _timeout.Token;
        var container = "di-" + Guid.NewGuid().ToString("N")[..12];
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(_ => emulator.CreateClient());
        services.AddStorageBridge()
            .AddFileSystemTarget("files", o => o.Root = _files)
            .UseCosmosMetadata(sp => sp.GetRequiredService<CosmosClient>(), o =>
            {
                o.Database = "sb-di";
                o.Container = container;
            });
        await using var provider = services.BuildServiceProvider();

        var store = Assert.IsType<CosmosUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
        await store.InitializeAsync(ct);
        var record = new UploadRecord { Id = UploadIds.New(), Target = "files", ObjectKey = "from-di" };
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(record, ct)).Status);
        Assert.Equal("from-di", (await store.GetAsync(record.Id, ct))?.ObjectKey);

        store.Dispose();
        var client = provider.GetRequiredService<CosmosClient>();
        using var read = await client.GetContainer("sb-di", container).ReadItemStreamAsync(record.Id, new PartitionKey(record.Id), cancellationToken: ct);
        Assert.True(read.IsSuccessStatusCode, $"the application's client still works after the store is disposed ({read.StatusCode})");
        await client.GetDatabase("sb-di").GetContainer(container).DeleteContainerAsync(cancellationToken: ct);
    }
}
