using System.Security.Cryptography;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>An UploadCoordinator over the Azure backend on Azurite (in-memory store, fake clock), as the Host wires it.</summary>
internal sealed class AzureEngine
{
    public const string TargetName = "azure";
    public const int MiB = 1024 * 1024;

    public AzureEngine(AzuriteFixture azurite, AzureBlobBackendOptions? options = null, UploadTargetOptions? target = null)
    {
        Faults = new FaultInjectingHandler();
        Backend = azurite.CreateBackend(options ?? new AzureBlobBackendOptions(), Faults);
        Coordinator = new UploadCoordinator(
            new UploadTargetRegistry([new UploadTarget(TargetName, Backend, target ?? new UploadTargetOptions { Backend = "AzureBlob" })]),
            Store,
            new StorageBridgeEngineOptions { InstanceId = "node-a", LeaseDuration = TimeSpan.FromSeconds(30), TombstoneRetention = TimeSpan.FromDays(1) },
            Time,
            NullLogger<UploadCoordinator>.Instance);
    }

    public FaultInjectingHandler Faults { get; }
    public AzureBlobBackend Backend { get; }
    public InMemoryUploadMetadataStore Store { get; } = new();
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 6, 1, 8, 0, 0, TimeSpan.Zero));
    public UploadCoordinator Coordinator { get; }

    public async Task<UploadRecord> CreateAsync(long? length = null, string? contentType = null)
    {
        var created = await Coordinator.CreateAsync(
            new CreateUploadRequest { Target = TargetName, Length = length, ContentType = contentType }, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        return created.Upload!;
    }

    public Task<AppendResult> AppendAsync(string id, long offset, ReadOnlyMemory<byte> data, bool complete = false) =>
        Coordinator.AppendAsync(
            new AppendRequest { Target = TargetName, Id = id, Offset = offset, Complete = complete, ContentLength = data.Length },
            new MemoryStream(data.ToArray(), writable: false),
            CancellationToken.None);

    public async Task<UploadRecord> LoadAsync(string id) =>
        await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"No record {id}.");

    public async Task<long> HeadOffsetAsync(string id)
    {
        var head = await Coordinator.GetAsync(TargetName, id, CancellationToken.None);
        return head.Upload!.Offset;
    }

    public async Task<string> BlobSha256Async(string key)
    {
        var content = await Backend.Container.GetBlobClient(key).DownloadContentAsync();
        return Sha256(content.Value.Content.ToMemory().Span);
    }

    public async Task<IReadOnlyList<long>> CommittedBlockSizesAsync(string key)
    {
        var list = await Backend.Container.GetBlockBlobClient(key).GetBlockListAsync(BlockListTypes.All);
        Assert.Empty(list.Value.UncommittedBlocks);
        return [.. list.Value.CommittedBlocks.Select(b => b.SizeLong)];
    }

    public async Task<bool> BlobExistsAsync(string key) => (await Backend.Container.GetBlobClient(key).ExistsAsync()).Value;

    public static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
