using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Two instances (coordinators with different InstanceIds) share one metadata store and one root. The store's
/// compare-and-swap and the lease are all they share; time is a FakeTimeProvider so lease waits are exact.
/// </summary>
public sealed class MultiInstanceTests : IDisposable
{
    private const int Part = 64 * KiB;
    private readonly List<EngineHarness> harnesses = [];

    public void Dispose()
    {
        foreach (var harness in harnesses)
        {
            harness.Dispose();
        }
    }

    private EngineHarness Harness(bool s3Like)
    {
        var harness = s3Like
            ? new EngineHarness(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" })
            : new EngineHarness(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });
        harnesses.Add(harness);
        return harness;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upload_started_on_one_instance_is_resumed_and_completed_on_another(bool s3Like)
    {
        var h = Harness(s3Like);
        var (b, _) = h.NewInstance("node-b");
        var source = Bytes(150_000, seed: 41);
        var upload = await h.CreateAsync();
        await h.AppendAsync(upload.Id, 0, source[..70_000]);

        var head = await b.GetAsync(TargetName, upload.Id, CancellationToken.None);
        Assert.Equal(70_000, head.Upload!.Offset);
        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true, via: b);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        var seenByA = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None);
        Assert.Equal(UploadState.Completed, seenByA.Upload!.State);
        Assert.Equal(150_000, seenByA.Upload.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task The_new_instance_waits_for_the_old_lease_and_the_old_writer_then_stops_with_Conflict()
    {
        var h = Harness(s3Like: true);
        var (b, backendB) = h.NewInstance("node-b");
        var source = Bytes(200_000, seed: 42);
        var upload = await h.CreateAsync(length: source.Length);

        // A writes part 1 (recorded), buffers 34,464 more bytes, then its client stalls.
        var bodyA = new TestBody(source, pauseAt: 100_000);
        var appendA = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), bodyA, CancellationToken.None);
        await bodyA.Paused.WaitAsync(Bound);
        var held = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Part, held.Offset);
        Assert.Equal("node-a", held.LeaseOwner);
        Assert.Equal(Epoch + TimeSpan.FromSeconds(10), held.LeaseUntil);

        // B resumes from the recorded offset: it claims the upload behind A's lease and waits for it to lapse.
        Assert.Equal(Part, (await b.GetAsync(TargetName, upload.Id, CancellationToken.None)).Upload!.Offset);
        var appendB = h.AppendAsync(upload.Id, Part, source[Part..], complete: true, via: b);
        await WaitUntilAsync(async () => (await h.LoadExistingAsync(upload.Id)).LeaseOwner == "node-b", "B has claimed the upload");
        var claimed = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Epoch + TimeSpan.FromSeconds(20), claimed.LeaseUntil);
        Assert.Equal(Part, claimed.Offset);

        h.Time.Advance(TimeSpan.FromSeconds(9));
        await Task.Delay(50);
        Assert.False(appendB.IsCompleted);
        Assert.Equal(0, backendB.WritePartCalls);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        var resultB = await appendB.WaitAsync(Bound);
        Assert.Equal(UploadOutcome.Success, resultB.Outcome);
        var completed = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completed, completed.State);

        // A's client comes back; A must not write or commit any more.
        var partsByA = h.Backend.WritePartCalls;
        bodyA.Resume();
        var resultA = await appendA.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, resultA.Outcome);
        Assert.Equal(partsByA, h.Backend.WritePartCalls);
        var final = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(completed.Version, final.Version);
        Assert.Equal(UploadState.Completed, final.State);
        Assert.Equal(4, final.Parts.Count);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_newer_request_in_the_same_process_still_waits_for_the_foreign_lease()
    {
        var h = Harness(s3Like: true);
        var (b, backendB) = h.NewInstance("node-b");
        var source = Bytes(200_000, seed: 44);
        var upload = await h.CreateAsync(length: source.Length);
        var bodyA = new TestBody(source, pauseAt: 100_000);
        var appendA = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), bodyA, CancellationToken.None);
        await bodyA.Paused.WaitAsync(Bound);

        // B's first request claims behind A's lease (writable from Epoch+10s) and waits.
        var firstB = h.AppendAsync(upload.Id, Part, source[Part..], complete: true, via: b);
        await WaitUntilAsync(async () => (await h.LoadExistingAsync(upload.Id)).LeaseOwner == "node-b", "B has claimed the upload");
        Assert.Equal(Epoch + TimeSpan.FromSeconds(10), (await h.LoadExistingAsync(upload.Id)).LeaseFrom);

        // A newer request on B takes over from the waiting one; it must not skip A's lease because B owns the claim.
        var secondB = h.AppendAsync(upload.Id, Part, source[Part..], complete: true, via: b);
        Assert.Equal(UploadOutcome.Conflict, (await firstB.WaitAsync(Bound)).Outcome);
        h.Time.Advance(TimeSpan.FromSeconds(9));
        await Task.Delay(50);
        Assert.False(secondB.IsCompleted);
        Assert.Equal(0, backendB.WritePartCalls);

        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(UploadOutcome.Success, (await secondB.WaitAsync(Bound)).Outcome);
        bodyA.Resume();
        Assert.Equal(UploadOutcome.Conflict, (await appendA.WaitAsync(Bound)).Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task An_old_writer_whose_client_dropped_after_the_takeover_cannot_store_its_prefix()
    {
        var h = Harness(s3Like: false);
        var (b, _) = h.NewInstance("node-b");
        var source = Bytes(10_000, seed: 43);
        var upload = await h.CreateAsync(length: source.Length);
        using var abortA = new CancellationTokenSource();
        var bodyA = new TestBody(source, pauseAt: 3000, clientGone: abortA.Token);
        var appendA = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), bodyA, abortA.Token);
        await bodyA.Paused.WaitAsync(Bound);

        var appendB = h.AppendAsync(upload.Id, 0, source, complete: true, via: b);
        await WaitUntilAsync(async () => (await h.LoadExistingAsync(upload.Id)).LeaseOwner == "node-b", "B has claimed the upload");
        h.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(UploadOutcome.Success, (await appendB.WaitAsync(Bound)).Outcome);
        var completed = await h.LoadExistingAsync(upload.Id);

        await abortA.CancelAsync();
        var resultA = await appendA.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, resultA.Outcome);
        Assert.Equal(0, h.Backend.WritePartCalls);
        var final = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(completed.Version, final.Version);
        Assert.Equal(10_000, final.Offset);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task An_expired_lease_of_a_silent_instance_is_taken_over_without_waiting()
    {
        var h = Harness(s3Like: false);
        var (b, _) = h.NewInstance("node-b");
        var source = Bytes(5000, seed: 44);
        var upload = await h.CreateAsync();
        var bodyA = new TestBody(source, pauseAt: 1000);
        var appendA = h.Coordinator.AppendAsync(Request(upload.Id, 0, null), bodyA, CancellationToken.None);
        await bodyA.Paused.WaitAsync(Bound);

        h.Time.Advance(TimeSpan.FromSeconds(11)); // A's lease (until +10 s) has lapsed
        var resultB = await h.AppendAsync(upload.Id, 0, source, complete: true, via: b).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Success, resultB.Outcome);
        bodyA.Resume();
        Assert.Equal(UploadOutcome.Conflict, (await appendA.WaitAsync(Bound)).Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }
}
