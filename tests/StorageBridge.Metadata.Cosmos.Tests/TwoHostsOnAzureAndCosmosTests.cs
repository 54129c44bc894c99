using StorageBridge.Backends.AzureBlob.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>The product's Azure setup: two Hosts, one Cosmos DB store, one Azure Blob target (Azurite).</summary>
[Collection(CosmosCollection.Name)]
public sealed class TwoHostsOnAzureAndCosmosTests(CosmosEmulatorFixture emulator, AzuriteFixture azurite, ITestOutputHelper output)
    : TwoHostsSharingCosmosTestsBase(emulator, output), IClassFixture<AzuriteFixture>
{
    private readonly string _container = "sb2h" + Guid.NewGuid().ToString("N")[..12];

    protected override IReadOnlyDictionary<string, string?> TargetEnvironment => new Dictionary<string, string?>
    {
        ["StorageBridge__Targets__default__Backend"] = "AzureBlob",
        ["StorageBridge__Targets__default__ConnectionString"] = azurite.ConnectionString,
        ["StorageBridge__Targets__default__Container"] = _container,
        ["StorageBridge__Targets__default__MinBlockSize"] = "64KiB", // small blocks: the tests' appends stage real blocks
    };

    protected override async Task<byte[]> ReadStoredObjectAsync(string id, CancellationToken cancellationToken) =>
        (await azurite.CreateContainer(containerName: _container).GetBlobClient(id).DownloadContentAsync(cancellationToken)).Value.Content.ToArray();
}
