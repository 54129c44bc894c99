using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Within one process a new request for an upload ends the one in flight: the older append stores what it
/// received and returns Conflict (issue 11 item 7: superseded, never 2xx); the newer request then sees the final offset.
/// </summary>
public sealed class TakeoverTests : IDisposable
{
    private readonly EngineHarness files = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });
    private readonly EngineHarness s3 = new(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" });

    public void Dispose()
    {
        files.Dispose();
        s3.Dispose();
    }

    private static async Task<(Task<AppendResult> Append, TestBody Body)> StartBlockedAppendAsync(EngineHarness h, string id, byte[] source, int received)
    {
        var body = new TestBody(source, pauseAt: received);
        var append = h.Coordinator.AppendAsync(Request(id, 0, source.Length, complete: true), body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);
        return (append, body);
    }

    [Fact]
    public async Task GetAsync_ends_a_blocked_append_and_reports_the_stored_offset()
    {
        var h = files;
        var source = Bytes(20_000, seed: 31);
        var upload = await h.CreateAsync(length: source.Length);
        var (append, _) = await StartBlockedAppendAsync(h, upload.Id, source, 9_999);

        var head = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Success, head.Outcome);
        Assert.Equal(9_999, head.Upload!.Offset);
        Assert.Null(head.Upload.LeaseOwner);
        var first = await append.WaitAsync(Bound);
        Assert.Equal(UploadOutcome.Conflict, first.Outcome);
        Assert.Equal(9_999, first.Upload!.Offset);

        var rest = await h.AppendAsync(upload.Id, 9_999, source[9_999..], complete: true);
        Assert.Equal(UploadOutcome.Success, rest.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_second_append_takes_over_and_continues_from_the_stored_offset()
    {
        var h = s3;
        var source = Bytes(200_000, seed: 32);
        var upload = await h.CreateAsync(length: source.Length);
        var (append, _) = await StartBlockedAppendAsync(h, upload.Id, source, 100_000);

        var second = await h.AppendAsync(upload.Id, 100_000, source[100_000..], complete: true).WaitAsync(Bound);
        var first = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, first.Outcome);
        Assert.Equal(100_000, first.Upload!.Offset);
        Assert.Equal(new TailRecord(1, 100_000 - (64 * KiB)), first.Upload.Tail);
        Assert.Equal(UploadOutcome.Success, second.Outcome);
        Assert.Equal(UploadState.Completed, second.Upload!.State);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_second_append_at_the_old_offset_gets_OffsetMismatch_with_the_stored_offset()
    {
        var h = files;
        var source = Bytes(10_000, seed: 33);
        var upload = await h.CreateAsync();
        var (append, _) = await StartBlockedAppendAsync(h, upload.Id, source, 6000);

        var second = await h.AppendAsync(upload.Id, 0, source).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.OffsetMismatch, second.Outcome);
        Assert.Equal(6000, second.ExpectedOffset);
        Assert.Equal(UploadOutcome.Conflict, (await append.WaitAsync(Bound)).Outcome);
    }

    [Fact]
    public async Task CancelAsync_ends_a_blocked_append_and_removes_everything()
    {
        var h = s3;
        var source = Bytes(100_000, seed: 34);
        var upload = await h.CreateAsync(length: source.Length);
        var (append, _) = await StartBlockedAppendAsync(h, upload.Id, source, 70_000);

        var cancelled = await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None).WaitAsync(Bound);
        var first = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, first.Outcome);
        Assert.Equal(70_000, first.Upload!.Offset);
        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        Assert.Equal(UploadState.Cancelled, cancelled.Upload!.State);
        Assert.False(h.HasStagedData(upload.Id));
        Assert.Equal(UploadOutcome.Gone, (await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task A_predecessor_stuck_in_a_backend_write_makes_the_newcomer_fail_fast_with_Conflict()
    {
        using var h = new EngineHarness(
            options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB },
            engine: new StorageBridgeEngineOptions { InstanceId = "node-a", LeaseDuration = TimeSpan.FromSeconds(10), TakeoverWait = TimeSpan.FromMilliseconds(200) });
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Backend.BeforeWritePart = async _ =>
        {
            writing.TrySetResult();
            await gate.Task;
        };
        var source = Bytes(100, seed: 35);
        var upload = await h.CreateAsync();
        var first = h.AppendAsync(upload.Id, 0, source);
        await writing.Task.WaitAsync(Bound);

        var second = await h.AppendAsync(upload.Id, 0, source).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, second.Outcome);
        gate.SetResult();
        Assert.Equal(UploadOutcome.Success, (await first.WaitAsync(Bound)).Outcome);
        Assert.Equal(100, (await h.LoadExistingAsync(upload.Id)).Offset);
    }
}
