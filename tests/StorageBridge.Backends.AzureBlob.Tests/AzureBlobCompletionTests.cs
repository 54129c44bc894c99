using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using StorageBridge.Uploads;
using static StorageBridge.Backends.AzureBlob.Tests.AzureEngine;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>Completion on the backend directly: idempotent retries, and no silent replacement of existing blobs.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobCompletionTests(AzuriteFixture azurite)
{
    private const int Block = 64 * 1024;

    [Fact]
    public async Task Completing_again_after_a_crash_before_the_metadata_write_returns_the_same_blob()
    {
        var backend = azurite.CreateBackend();
        var (upload, source) = await StagedAsync(backend, seed: 1);

        var first = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);
        var second = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);

        Assert.Equal(first, second);
        Assert.Equal(source.Length, second.Length);
        Assert.Equal(Sha256(source), await BlobSha256Async(backend, upload.ObjectKey));
    }

    [Fact]
    public async Task Completing_again_after_a_crash_before_the_staging_cleanup_returns_the_same_blob()
    {
        var backend = azurite.CreateBackend();
        var (upload, source) = await StagedAsync(backend, seed: 2);
        var first = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);
        // As if the process died right after CommitBlockList: the live marker is still there.
        await backend.Container.GetBlobClient(AzureBlobBackend.StagingPrefix + upload.Id + "/live").UploadAsync(BinaryData.Empty, overwrite: true);

        var second = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);

        Assert.Equal(first.ETag, second.ETag);
        Assert.Equal(Sha256(source), await BlobSha256Async(backend, upload.ObjectKey));
        Assert.Empty(await backend.ListStagingAsync(BackendUpload.From(upload), CancellationToken.None));
    }

    [Fact]
    public async Task An_existing_blob_is_not_replaced_without_AllowOverwrite()
    {
        var backend = azurite.CreateBackend();
        var key = "existing/" + UploadIds.New();
        var original = Bytes(5000, seed: 3);
        await backend.Container.GetBlobClient(key).UploadAsync(BinaryData.FromBytes(original));
        var (upload, _) = await StagedAsync(backend, seed: 4, key);

        var error = await Assert.ThrowsAsync<ObjectExistsException>(() => backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("AllowOverwrite", error.Message, StringComparison.Ordinal);
        Assert.Equal(Sha256(original), await BlobSha256Async(backend, key));
    }

    [Fact]
    public async Task An_existing_blob_is_replaced_with_AllowOverwrite()
    {
        var backend = azurite.CreateBackend(new AzureBlobBackendOptions { MinBlockSize = Block, AllowOverwrite = true });
        var key = "existing/" + UploadIds.New();
        await backend.Container.GetBlobClient(key).UploadAsync(BinaryData.FromBytes(Bytes(5000, seed: 5)));
        var (upload, source) = await StagedAsync(backend, seed: 6, key);

        var stored = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);
        var again = await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);

        Assert.Equal(source.Length, stored.Length);
        Assert.Equal(stored.ETag, again.ETag);
        Assert.Equal(Sha256(source), await BlobSha256Async(backend, key));
    }

    [Fact]
    public async Task Block_ids_are_fixed_length_base64_and_differ_between_uploads()
    {
        var ids = new[] { AzureBlobBackend.BlockId("a", 1), AzureBlobBackend.BlockId("a", 50_000), AzureBlobBackend.BlockId(UploadIds.New(), 7) };
        Assert.All(ids, id => Assert.Equal(28, id.Length));
        Assert.All(ids, id => Assert.Equal(20, Convert.FromBase64String(id).Length));
        Assert.NotEqual(AzureBlobBackend.BlockId("a", 1), AzureBlobBackend.BlockId("b", 1));

        // The committed block list holds exactly the recorded ids, in order.
        var backend = azurite.CreateBackend();
        var (upload, _) = await StagedAsync(backend, seed: 8);
        await backend.CompleteAsync(BackendUpload.From(upload), CancellationToken.None);
        var list = await backend.Container.GetBlockBlobClient(upload.ObjectKey).GetBlockListAsync(BlockListTypes.Committed);
        Assert.Equal(upload.Parts.Select(p => AzureBlobBackend.BlockId(upload.Id, p.Number)), list.Value.CommittedBlocks.Select(b => b.Name));
    }

    /// <summary>Three recorded blocks (64 KiB, 64 KiB, 1,234 bytes), as the coordinator would leave them before completing.</summary>
    private static async Task<(UploadRecord Upload, byte[] Source)> StagedAsync(AzureBlobBackend backend, int seed, string? key = null)
    {
        var source = Bytes(2 * Block + 1234, seed);
        var upload = new UploadRecord { Id = UploadIds.New(), Target = "azure", ObjectKey = key ?? "completion/" + UploadIds.New(), ContentType = "application/x-test" };
        upload = upload with { Session = await backend.StartAsync(BackendUpload.From(upload), CancellationToken.None) };
        var parts = new List<PartRecord>();
        for (var (number, offset) = (1, 0); offset < source.Length; number++, offset += Block)
        {
            parts.Add(await backend.WritePartAsync(BackendUpload.From(upload), number, offset, source.AsMemory(offset, Math.Min(Block, source.Length - offset)), CancellationToken.None));
        }

        return (upload with { Parts = parts, Offset = source.Length, State = UploadState.Completing }, source);
    }

    private static async Task<string> BlobSha256Async(AzureBlobBackend backend, string key) =>
        Sha256((await backend.Container.GetBlobClient(key).DownloadContentAsync()).Value.Content.ToMemory().Span);
}
