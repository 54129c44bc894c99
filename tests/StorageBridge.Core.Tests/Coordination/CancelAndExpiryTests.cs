using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>Cancel (tombstone, staging removed, 410 afterwards) and the expiry sweep driven by a FakeTimeProvider.</summary>
public sealed class CancelAndExpiryTests : IDisposable
{
    private readonly EngineHarness h = new(
        FaultInjectingBackend.S3Like(),
        new UploadTargetOptions { Backend = "S3Like", Expiration = TimeSpan.FromHours(1) });

    public void Dispose() => h.Dispose();

    private Task<int> CleanupAsync(UploadCoordinator? via = null) => (via ?? h.Coordinator).CleanupExpiredAsync(CancellationToken.None);

    [Fact]
    public async Task Cancel_leaves_a_tombstone_and_removes_parts_and_tails()
    {
        var upload = await h.CreateAsync();
        await h.AppendAsync(upload.Id, 0, Bytes(70_000));
        Assert.True(File.Exists(h.TailFile(upload.Id, 1)));
        h.Time.Advance(TimeSpan.FromMinutes(5));

        var cancelled = await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Cancelled, r.State);
        Assert.Equal(Epoch + TimeSpan.FromMinutes(5) + TimeSpan.FromDays(1), r.ExpiresAt);
        Assert.Null(r.LeaseOwner);
        Assert.False(h.HasStagedData(upload.Id));
        Assert.Equal(1, h.Backend.AbortCalls);

        Assert.Equal(UploadOutcome.Gone, (await h.AppendAsync(upload.Id, 70_000, Bytes(10))).Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.OpenDownloadAsync(TargetName, upload.Id, 0, null, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task Cancel_of_a_completed_upload_deactivates_it_and_keeps_the_object_past_the_sweep()
    {
        var upload = await h.CreateAsync(length: 5);
        await h.AppendAsync(upload.Id, 0, Bytes(5), complete: true);
        var key = (await h.LoadExistingAsync(upload.Id)).ObjectKey;

        var completed = await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None);
        var unknown = await h.Coordinator.CancelAsync(TargetName, UploadIds.New(), CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, completed.Outcome);
        Assert.Equal(UploadState.Cancelled, completed.Upload!.State);
        Assert.Equal(UploadOutcome.NotFound, unknown.Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.OpenDownloadAsync(TargetName, upload.Id, 0, null, CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);

        // The tombstone is forgotten after its retention; the committed object is never touched.
        h.Time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await CleanupAsync());
        Assert.Null(await h.LoadAsync(upload.Id));
        Assert.Equal(Bytes(5), await ReadKeyAsync(h, key));
    }

    private static async Task<byte[]> ReadKeyAsync(EngineHarness harness, string key)
    {
        await using var content = await harness.Backend.OpenReadAsync(key, 0, null, CancellationToken.None);
        using var copy = new MemoryStream();
        await content.CopyToAsync(copy);
        return copy.ToArray();
    }

    [Fact]
    public async Task Cancel_of_a_completed_upload_deletes_the_object_when_the_target_says_so()
    {
        using var deleting = new EngineHarness(
            FaultInjectingBackend.S3Like(),
            new UploadTargetOptions { Backend = "S3Like", OnCancelCompleted = CompletedUploadCancellation.DeleteObject });
        var upload = await deleting.CreateAsync(length: 5);
        await deleting.AppendAsync(upload.Id, 0, Bytes(5), complete: true);
        var key = (await deleting.LoadExistingAsync(upload.Id)).ObjectKey;

        Assert.Equal(UploadOutcome.Success, (await deleting.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);

        await Assert.ThrowsAnyAsync<Exception>(() => deleting.Backend.OpenReadAsync(key, 0, null, CancellationToken.None));
    }

    [Fact]
    public async Task Cleanup_expires_open_uploads_then_forgets_tombstones_and_leaves_completed_ones()
    {
        var open = await h.CreateAsync();
        await h.AppendAsync(open.Id, 0, Bytes(70_000, seed: 61));
        var completed = await h.CreateAsync(length: 100);
        await h.AppendAsync(completed.Id, 0, Bytes(100, seed: 62), complete: true);
        var cancelled = await h.CreateAsync();
        await h.Coordinator.CancelAsync(TargetName, cancelled.Id, CancellationToken.None);

        h.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await CleanupAsync());
        Assert.Equal(UploadState.Open, (await h.LoadExistingAsync(open.Id)).State);

        // One hour: the open upload passed ExpiresAt. It reads as gone even before the sweep.
        h.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.GetAsync(TargetName, open.Id, CancellationToken.None)).Outcome);
        Assert.Equal(1, await CleanupAsync());
        var expired = await h.LoadExistingAsync(open.Id);
        Assert.Equal(UploadState.Expired, expired.State);
        Assert.Equal(Epoch + TimeSpan.FromHours(1) + TimeSpan.FromDays(1), expired.ExpiresAt);
        Assert.False(h.HasStagedData(open.Id));
        Assert.Equal(UploadOutcome.Gone, (await h.AppendAsync(open.Id, 70_000, Bytes(1))).Outcome);

        // One day after the cancel: that tombstone is forgotten.
        h.Time.Advance(TimeSpan.FromDays(1) - TimeSpan.FromHours(1));
        Assert.Equal(1, await CleanupAsync());
        Assert.Null(await h.LoadAsync(cancelled.Id));
        Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.GetAsync(TargetName, cancelled.Id, CancellationToken.None)).Outcome);
        Assert.Equal(UploadState.Expired, (await h.LoadExistingAsync(open.Id)).State);

        // One more hour: the expired tombstone too.
        h.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await CleanupAsync());
        Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.GetAsync(TargetName, open.Id, CancellationToken.None)).Outcome);
        Assert.Equal(0, await CleanupAsync());

        var done = await h.Coordinator.GetAsync(TargetName, completed.Id, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(UploadState.Completed, done.Upload!.State);
        Assert.Equal(Bytes(100, seed: 62), await h.ReadObjectAsync(completed.Id));
    }

    [Fact]
    public async Task Cleanup_leaves_an_upload_alone_while_another_instance_holds_its_lease()
    {
        var (b, _) = h.NewInstance("node-b");
        var source = Bytes(1000, seed: 63);
        var upload = await h.CreateAsync();
        h.Time.Advance(TimeSpan.FromMinutes(59) + TimeSpan.FromSeconds(55));
        var body = new TestBody(source, pauseAt: 500);
        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, null), body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);
        h.Time.Advance(TimeSpan.FromSeconds(5)); // expired, but A's lease runs until +10 s

        Assert.Equal(0, await CleanupAsync(b));
        Assert.Equal(UploadState.Open, (await h.LoadExistingAsync(upload.Id)).State);

        body.Resume();
        await append.WaitAsync(Bound);
        Assert.Equal(1, await CleanupAsync(b));
        Assert.Equal(UploadState.Expired, (await h.LoadExistingAsync(upload.Id)).State);
        Assert.False(h.HasStagedData(upload.Id));
    }
}
