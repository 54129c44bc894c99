using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Failures injected at the backend boundary: the append throws, the record keeps only what is durable and the
/// lease is released; a retry from the HEAD offset finishes the upload. A failed completion is finished later.
/// </summary>
public sealed class BackendFailureTests : IDisposable
{
    private const int Part = 64 * KiB;
    private readonly EngineHarness files = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });
    private readonly EngineHarness s3 = new(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" });

    public void Dispose()
    {
        files.Dispose();
        s3.Dispose();
    }

    private static async Task<long> HeadOffsetAsync(EngineHarness h, string id, UploadCoordinator? via = null)
    {
        var head = await (via ?? h.Coordinator).GetAsync(TargetName, id, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, head.Outcome);
        return head.Upload!.Offset;
    }

    [Fact]
    public async Task A_failed_part_write_mid_append_keeps_the_recorded_parts_and_releases_the_lease()
    {
        var h = s3;
        var source = Bytes(300_000, seed: 51);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..100_000]); // part 1 (call 1) + tail 1
        h.Backend.FailWritePartOnCall = 3; // append 2: part 2 (call 2) is recorded, part 3 fails

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 100_000, source[100_000..], complete: true));

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(2 * Part, r.Offset);
        Assert.Equal(2, r.Parts.Count);
        Assert.Null(r.Tail);
        Assert.Equal(1, r.TailSequence);
        Assert.Equal(UploadState.Open, r.State);
        Assert.Null(r.LeaseOwner);
        Assert.Null(r.LeaseUntil);

        var offset = await HeadOffsetAsync(h, upload.Id);
        Assert.Equal(2 * Part, offset);
        var done = await h.AppendAsync(upload.Id, offset, source[(int)offset..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_failed_in_place_write_keeps_the_parts_written_before_it()
    {
        var h = files;
        var source = Bytes(10_000, seed: 52);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailWritePartOnCall = 2;

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(4096, r.Offset);
        Assert.Null(r.LeaseOwner);
        var offset = await HeadOffsetAsync(h, upload.Id);
        var done = await h.AppendAsync(upload.Id, offset, source[(int)offset..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_failed_final_write_of_a_small_append_releases_the_lease()
    {
        var h = files;
        var source = Bytes(100, seed: 53);
        var upload = await h.CreateAsync();
        h.Backend.FailWritePartOnCall = 1;

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source));

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, r.Offset);
        Assert.Equal(UploadState.Open, r.State);
        Assert.Null(r.LeaseOwner);
        Assert.Null(r.LeaseUntil);

        // Another instance can continue at once: nobody holds the upload.
        var (b, _) = h.NewInstance("node-b");
        var done = await h.AppendAsync(upload.Id, 0, source, complete: true, via: b).WaitAsync(Bound);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_failed_remainder_write_records_the_in_place_parts_written_before_it()
    {
        var h = files;
        var source = Bytes(10_000, seed: 54);
        var upload = await h.CreateAsync();
        h.Backend.FailWritePartOnCall = 3; // parts 1-2 (8 KiB) go through while reading; the 1,808-byte remainder fails

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source));

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(8192, r.Offset);
        Assert.Null(r.LeaseOwner);
        var done = await h.AppendAsync(upload.Id, 8192, source[8192..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_failed_completion_leaves_Completing_and_GetAsync_finishes_it_once()
    {
        var h = s3;
        var source = Bytes(150_000, seed: 55);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailNextCompletes = 1;

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completing, r.State);
        Assert.Equal(150_000, r.Offset);
        Assert.Equal(3, r.Parts.Count);
        Assert.Null(r.Tail);
        Assert.Null(r.StoredObject);
        Assert.Null(r.LeaseOwner);
        Assert.True(h.HasStagedData(upload.Id));

        var head = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, head.Outcome);
        Assert.Equal(UploadState.Completed, head.Upload!.State);
        Assert.Equal(150_000, head.Upload.StoredObject!.Length);
        Assert.Equal(2, h.Backend.CompleteCalls);
        var again = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None);
        Assert.Equal(UploadState.Completed, again.Upload!.State);
        Assert.Equal(2, h.Backend.CompleteCalls);
        Assert.Equal(UploadOutcome.AlreadyCompleted, (await h.AppendAsync(upload.Id, 150_000, [])).Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Expiry_cleanup_finishes_a_stuck_completion_instead_of_aborting_it()
    {
        var h = s3;
        var source = Bytes(150_000, seed: 56);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailNextCompletes = 1;
        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));
        Assert.Equal(UploadState.Completing, (await h.LoadExistingAsync(upload.Id)).State);

        h.Time.Advance(TimeSpan.FromDays(2));
        await h.Coordinator.CleanupExpiredAsync(CancellationToken.None);

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completed, r.State);
        Assert.Null(r.ExpiresAt);
        Assert.Equal(0, h.Backend.AbortCalls);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Another_instance_finishes_a_completion_that_failed_on_the_first()
    {
        var h = files;
        var (b, backendB) = h.NewInstance("node-b");
        var source = Bytes(9000, seed: 56);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailNextCompletes = 1;

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));

        var head = await b.GetAsync(TargetName, upload.Id, CancellationToken.None);
        Assert.Equal(UploadState.Completed, head.Upload!.State);
        Assert.Equal(1, backendB.CompleteCalls);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id, via: b)));
    }

    [Fact]
    public async Task Finishing_a_completion_is_idempotent_when_the_backend_commit_already_happened()
    {
        var h = files;
        var source = Bytes(9000, seed: 57);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailNextCompletes = 1;
        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));
        var completing = await h.LoadExistingAsync(upload.Id);

        // The commit reached the backend, but the metadata write after it never happened.
        await h.Backend.CompleteAsync(BackendUpload.From(completing), CancellationToken.None);
        Assert.False(h.HasStagedData(upload.Id));

        var head = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadState.Completed, head.Upload!.State);
        Assert.Equal(9000, head.Upload.StoredObject!.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_completion_left_to_a_lapsed_lease_is_finished_by_any_append_or_head()
    {
        var h = files;
        var (b, _) = h.NewInstance("node-b");
        var source = Bytes(9000, seed: 58);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.FailNextCompletes = 1;
        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 0, source, complete: true));
        h.Time.Advance(TimeSpan.FromSeconds(11));

        var append = await h.AppendAsync(upload.Id, 9000, [], complete: true, via: b);

        Assert.Equal(UploadOutcome.AlreadyCompleted, append.Outcome);
        Assert.Equal(UploadState.Completed, (await h.LoadExistingAsync(upload.Id)).State);
    }
}
