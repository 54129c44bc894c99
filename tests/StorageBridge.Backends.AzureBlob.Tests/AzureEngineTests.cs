using Azure;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Backends.AzureBlob.Tests.AzureEngine;

namespace StorageBridge.Backends.AzureBlob.Tests;

/// <summary>Uploads through the UploadCoordinator into Azurite: block coalescing, empty blobs, cancel, expiry, faults.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureEngineTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task One_MiB_appends_are_coalesced_through_tails_into_blocks_of_the_minimum_size()
    {
        // Default 4 MiB minimum block, part size = minimum: 20.5 MiB in 1 MiB appends -> five 4 MiB blocks + 0.5 MiB.
        var engine = new AzureEngine(azurite, target: new UploadTargetOptions { Backend = "AzureBlob", PartSize = 4 * MiB });
        var source = Bytes(20 * MiB + MiB / 2, seed: 1);
        var upload = await engine.CreateAsync(length: source.Length, contentType: "video/mp4");

        long offset = 0;
        while (offset < source.Length)
        {
            var size = (int)Math.Min(MiB, source.Length - offset);
            var result = await engine.AppendAsync(upload.Id, offset, source.AsMemory((int)offset, size), complete: offset + size == source.Length);
            Assert.Equal(UploadOutcome.Success, result.Outcome);
            offset += size;
            Assert.Equal(offset, result.Upload!.Offset);
            if (offset < source.Length)
            {
                // Between appends: whole 4 MiB blocks recorded, the rest durable as one staging blob per append since
                // the last block (segmented tail: each append writes only its own bytes), plus the marker.
                var record = await engine.LoadAsync(upload.Id);
                Assert.Equal(offset / (4 * MiB), record.Parts.Count);
                Assert.Equal(offset % (4 * MiB), record.Tail?.Size ?? 0);
                Assert.Equal((int)(offset % (4 * MiB) / MiB), record.Tail?.Objects.Count ?? 0);
                Assert.All(record.Tail?.Objects ?? [], o => Assert.Equal(MiB, o.Size));
                var staged = await engine.Backend.ListStagingAsync(BackendUpload.From(record), CancellationToken.None);
                Assert.Equal(1 + (record.Tail?.Objects.Count ?? 0), staged.Count);
            }
        }

        var done = await engine.LoadAsync(upload.Id);
        Assert.Equal(UploadState.Completed, done.State);
        Assert.Equal(new long[] { 4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, 4 * MiB, MiB / 2 }, await engine.CommittedBlockSizesAsync(done.ObjectKey));
        Assert.Equal(Sha256(source), await engine.BlobSha256Async(done.ObjectKey));
        var properties = (await engine.Backend.Container.GetBlobClient(done.ObjectKey).GetPropertiesAsync()).Value;
        Assert.Equal("video/mp4", properties.ContentType);
        Assert.Equal(upload.Id, properties.Metadata[AzureBlobBackend.UploadIdMetadataKey]);
        Assert.Empty(await engine.Backend.ListStagingAsync(BackendUpload.From(done), CancellationToken.None));
    }

    [Fact]
    public async Task A_single_small_append_becomes_one_final_block()
    {
        var engine = new AzureEngine(azurite);
        var source = Bytes(1000, seed: 2);
        var upload = await engine.CreateAsync();

        var result = await engine.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(new long[] { 1000 }, await engine.CommittedBlockSizesAsync(upload.ObjectKey));
        Assert.Equal(Sha256(source), await engine.BlobSha256Async(upload.ObjectKey));
    }

    [Fact]
    public async Task An_empty_upload_commits_a_zero_byte_blob_without_blocks()
    {
        var engine = new AzureEngine(azurite);
        var upload = await engine.CreateAsync();

        var result = await engine.AppendAsync(upload.Id, 0, ReadOnlyMemory<byte>.Empty, complete: true);

        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(0, result.Upload.StoredObject!.Length);
        Assert.Empty(await engine.CommittedBlockSizesAsync(upload.ObjectKey));
        Assert.Equal(0, (await engine.Backend.Container.GetBlobClient(upload.ObjectKey).GetPropertiesAsync()).Value.ContentLength);
    }

    [Fact]
    public async Task Cancel_leaves_no_committed_blob_and_no_staging_blobs()
    {
        var engine = new AzureEngine(azurite, new AzureBlobBackendOptions { MinBlockSize = 256 * 1024 }, new UploadTargetOptions { Backend = "AzureBlob", PartSize = 256 * 1024 });
        var upload = await engine.CreateAsync();
        await engine.AppendAsync(upload.Id, 0, Bytes(600 * 1024, seed: 3)); // two blocks + a tail
        var before = await engine.LoadAsync(upload.Id);
        Assert.Equal(2, before.Parts.Count);
        Assert.NotNull(before.Tail);

        var cancelled = await engine.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        Assert.False(await engine.BlobExistsAsync(upload.ObjectKey));
        Assert.Empty(await engine.Backend.ListStagingAsync(BackendUpload.From(before), CancellationToken.None));
        // The staged blocks can no longer be committed: the live marker is gone.
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => engine.Backend.CompleteAsync(BackendUpload.From(before with { Tail = null, Offset = before.PartsLength }), CancellationToken.None));
        Assert.False(await engine.BlobExistsAsync(upload.ObjectKey));
    }

    [Fact]
    public async Task Expiry_leaves_no_committed_blob_and_no_staging_blobs()
    {
        var engine = new AzureEngine(azurite, new AzureBlobBackendOptions { MinBlockSize = 256 * 1024 },
            new UploadTargetOptions { Backend = "AzureBlob", PartSize = 256 * 1024, Expiration = TimeSpan.FromHours(1) });
        var upload = await engine.CreateAsync();
        await engine.AppendAsync(upload.Id, 0, Bytes(300 * 1024, seed: 4));
        var before = await engine.LoadAsync(upload.Id);
        Assert.NotEmpty(await engine.Backend.ListStagingAsync(BackendUpload.From(before), CancellationToken.None));

        engine.Time.Advance(TimeSpan.FromHours(2));
        var cleaned = await engine.Coordinator.CleanupExpiredAsync(CancellationToken.None);

        Assert.Equal(1, cleaned);
        Assert.Equal(UploadState.Expired, (await engine.LoadAsync(upload.Id)).State);
        Assert.False(await engine.BlobExistsAsync(upload.ObjectKey));
        Assert.Empty(await engine.Backend.ListStagingAsync(BackendUpload.From(before), CancellationToken.None));
    }

    [Fact]
    public async Task Failed_StageBlock_keeps_recorded_blocks_and_a_retry_from_the_offset_completes()
    {
        var engine = new AzureEngine(azurite, new AzureBlobBackendOptions { MinBlockSize = 256 * 1024 }, new UploadTargetOptions { Backend = "AzureBlob", PartSize = 256 * 1024 });
        var source = Bytes(1024 * 1024 + 777, seed: 5);
        var upload = await engine.CreateAsync(length: source.Length);
        await engine.AppendAsync(upload.Id, 0, source.AsMemory(0, 300 * 1024)); // block 1 + tail

        // Block 2 succeeds; block 3 fails more often than the SDK retries (MaxRetries 2).
        engine.Faults.FailStageBlocksAfter(successes: 1, failures: 3);
        var failed = await Assert.ThrowsAsync<StorageBackendException>(() => engine.AppendAsync(upload.Id, 300 * 1024, source.AsMemory(300 * 1024), complete: true));
        Assert.True(failed.IsTransient);
        Assert.Equal(503, Assert.IsType<RequestFailedException>(failed.InnerException).Status);

        var record = await engine.LoadAsync(upload.Id);
        Assert.Equal(UploadState.Open, record.State);
        Assert.Equal(2, record.Parts.Count);
        Assert.Equal(2 * 256 * 1024, record.Offset);
        Assert.Null(record.LeaseOwner);
        var offset = await engine.HeadOffsetAsync(upload.Id);
        Assert.Equal(record.Offset, offset);

        var done = await engine.AppendAsync(upload.Id, offset, source.AsMemory((int)offset), complete: true);

        Assert.Equal(UploadState.Completed, done.Upload!.State);
        Assert.Equal(Sha256(source), await engine.BlobSha256Async(upload.ObjectKey));
        Assert.Equal(source.Length, (await engine.CommittedBlockSizesAsync(upload.ObjectKey)).Sum());
    }

    [Fact]
    public async Task Failed_CommitBlockList_is_finished_by_the_next_HEAD()
    {
        var engine = new AzureEngine(azurite, new AzureBlobBackendOptions { MinBlockSize = 256 * 1024 }, new UploadTargetOptions { Backend = "AzureBlob", PartSize = 256 * 1024 });
        var source = Bytes(700 * 1024, seed: 6);
        var upload = await engine.CreateAsync(length: source.Length);
        engine.Faults.FailCommits = 3;

        var failed = await Assert.ThrowsAsync<StorageBackendException>(() => engine.AppendAsync(upload.Id, 0, source, complete: true));
        Assert.True(failed.IsTransient);
        Assert.IsType<RequestFailedException>(failed.InnerException);

        var record = await engine.LoadAsync(upload.Id);
        Assert.Equal(UploadState.Completing, record.State);
        Assert.Equal(source.Length, record.Offset);
        Assert.False(await engine.BlobExistsAsync(upload.ObjectKey));

        var head = await engine.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadState.Completed, head.Upload!.State);
        Assert.Equal(source.Length, head.Upload.StoredObject!.Length);
        Assert.Equal(Sha256(source), await engine.BlobSha256Async(upload.ObjectKey));
    }

    [Fact]
    public async Task A_lost_CommitBlockList_response_is_retried_by_the_SDK_and_recognised_as_our_blob()
    {
        // The commit happened, the client saw a 500; the SDK's retry gets 409 (If-None-Match: *) and the backend
        // finds its own blob by the upload-id marker and length.
        var engine = new AzureEngine(azurite, new AzureBlobBackendOptions { MinBlockSize = 256 * 1024 }, new UploadTargetOptions { Backend = "AzureBlob", PartSize = 256 * 1024 });
        var source = Bytes(600 * 1024, seed: 7);
        var upload = await engine.CreateAsync(length: source.Length);
        engine.Faults.LoseCommitResponses = 1;

        var done = await engine.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadState.Completed, done.Upload!.State);
        Assert.True(engine.Faults.CommitCalls >= 2);
        Assert.Equal(Sha256(source), await engine.BlobSha256Async(upload.ObjectKey));
        Assert.Empty(await engine.Backend.ListStagingAsync(BackendUpload.From(done.Upload), CancellationToken.None));
    }
}
