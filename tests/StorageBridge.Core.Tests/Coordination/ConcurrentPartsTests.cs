using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Parts of one append written concurrently (<c>MaxConcurrentParts</c>) on the S3-like path over files: parts are
/// recorded strictly in order whatever order their writes finish in, a failed part is never recorded and neither is
/// anything after it, a dropped connection keeps every byte that arrived, and the part buffers held stay within
/// (MaxConcurrentParts + 1) x PartSize (the coordinator's buffer accounting).
/// </summary>
public sealed class ConcurrentPartsTests : IDisposable
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

    private EngineHarness Harness(int concurrency)
    {
        var harness = new EngineHarness(
            FaultInjectingBackend.S3Like(maxParts: 100),
            new UploadTargetOptions { Backend = "S3Like", PartSize = Part, MaxConcurrentParts = concurrency });
        harnesses.Add(harness);
        return harness;
    }

    private static Task Started(TaskCompletionSource started, Task then)
    {
        started.TrySetResult();
        return then;
    }

    private static async Task<AppendResult> FinishFromHeadAsync(EngineHarness h, string id, byte[] source)
    {
        var head = await h.Coordinator.GetAsync(TargetName, id, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, head.Outcome);
        var offset = (int)head.Upload!.Offset;
        return await h.AppendAsync(id, offset, source[offset..], complete: true);
    }

    [Fact]
    public async Task While_part_1_is_slow_parts_behind_it_are_written_but_nothing_is_recorded_before_it()
    {
        var h = Harness(concurrency: 2);
        var source = Bytes((6 * Part) + 1000, seed: 81);
        var upload = await h.CreateAsync(length: source.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var part1Started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Part 2 goes on only once part 1 is in the backend: both writes start on the thread pool, in either order.
        h.Backend.BeforeWritePartNumber = number => number switch
        {
            1 => Started(part1Started, gate.Task),
            2 => part1Started.Task,
            _ => Task.CompletedTask,
        };
        var body = new TestBody(source, chunk: (7 * KiB) + 3);

        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), body, CancellationToken.None);

        // Part 2 was written beside the slow part 1; part 3 is read but waits for room (two writes at once), and the
        // body is not read any further.
        await WaitUntilAsync(() => Task.FromResult(h.Backend.WritePartCalls == 2 && body.Delivered == 3 * Part && h.Backend.PartWrites.Count == 1), "part 2 written, part 3 read");
        var during = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, during.Offset);
        Assert.Empty(during.Parts);
        Assert.Equal(2, h.Backend.PartWrites.Single().Number);
        Assert.False(append.IsCompleted);

        gate.SetResult();
        var done = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal([1, 2, 3, 4, 5, 6, 7], done.Upload!.Parts.Select(p => p.Number));
        Assert.Equal(2, h.Backend.MaxPartWritesAtOnce);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.Equal(0, h.Coordinator.PartBuffers.HeldBytes);
    }

    [Fact]
    public async Task A_failed_part_behind_a_slow_one_is_not_recorded_and_the_slow_one_is()
    {
        var h = Harness(concurrency: 2);
        var source = Bytes(5 * Part, seed: 82);
        var upload = await h.CreateAsync(length: source.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Backend.BeforeWritePartNumber = number => number == 1 ? gate.Task : Task.CompletedTask;
        h.Backend.FailWritePartNumberOnce = 2;

        var append = h.AppendAsync(upload.Id, 0, source, complete: true);
        await WaitUntilAsync(() => Task.FromResult(h.Backend.WritePartCalls == 2), "part 2 failed");
        await Task.Delay(50);
        var during = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, during.Offset);
        Assert.False(append.IsCompleted);

        gate.SetResult();
        await Assert.ThrowsAsync<IOException>(() => append.WaitAsync(Bound));

        // Part 1 finished after part 2 failed, and is kept; part 2 and the bytes read behind it are not.
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Part, r.Offset);
        Assert.Equal([1], r.Parts.Select(p => p.Number));
        Assert.Null(r.Tail);
        Assert.Equal(UploadState.Open, r.State);
        Assert.Null(r.LeaseOwner);
        Assert.Equal(0, h.Coordinator.PartBuffers.HeldBytes);

        var done = await FinishFromHeadAsync(h, upload.Id, source);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_connection_dropped_while_a_part_is_in_flight_keeps_the_part_and_the_bytes_after_it_as_tail()
    {
        var h = Harness(concurrency: 2);
        var source = Bytes(4 * Part, seed: 83);
        var upload = await h.CreateAsync(length: source.Length);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Backend.BeforeWritePartNumber = number => number == 1 ? gate.Task : Task.CompletedTask;
        var body = new TestBody(source, chunk: 5000, failAt: Part + 1000);

        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), body, CancellationToken.None);
        await WaitUntilAsync(() => Task.FromResult(body.Delivered == Part + 1000), "the body broke off");
        await Task.Delay(50);
        Assert.False(append.IsCompleted); // the bytes of part 1 are kept only once its write finished
        gate.SetResult();
        var result = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Part + 1000, r.Offset);
        Assert.Equal([1], r.Parts.Select(p => p.Number));
        Assert.Equal(new TailRecord(1, 1000), r.Tail);
        Assert.Null(r.LeaseOwner);

        var done = await FinishFromHeadAsync(h, upload.Id, source);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_connection_dropped_with_several_parts_in_flight_keeps_them_all_in_order()
    {
        var h = Harness(concurrency: 3);
        var source = Bytes(8 * Part, seed: 84);
        var upload = await h.CreateAsync(length: source.Length);
        // Later parts finish first: the record must still list 1, 2, 3, ... without a gap.
        h.Backend.BeforeWritePart = call => Task.Delay(call % 3 == 1 ? 60 : 5);
        var body = new TestBody(source, chunk: 9000, failAt: (5 * Part) + 123);

        var result = await h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), body, CancellationToken.None).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal((5 * Part) + 123, r.Offset);
        Assert.Equal([1, 2, 3, 4, 5], r.Parts.Select(p => p.Number));
        Assert.Equal(Enumerable.Range(0, 5).Select(i => (long)i * Part), r.Parts.Select(p => p.Offset));
        Assert.Equal(123, r.Tail!.Size);
        Assert.True(h.Backend.MaxPartWritesAtOnce is > 1 and <= 3, $"{h.Backend.MaxPartWritesAtOnce} writes at once");

        var done = await FinishFromHeadAsync(h, upload.Id, source);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_takeover_while_parts_are_in_flight_ends_the_append_with_every_received_byte_kept()
    {
        var h = Harness(concurrency: 2);
        var source = Bytes(6 * Part, seed: 85);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.BeforeWritePart = _ => Task.Delay(100);
        var body = new TestBody(source, chunk: 8000, pauseAt: (2 * Part) + 777);

        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, source.Length, complete: true), body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);
        var head = await h.Coordinator.GetAsync(TargetName, upload.Id, CancellationToken.None).WaitAsync(Bound);
        var first = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Conflict, first.Outcome);
        Assert.Equal((2 * Part) + 777, head.Upload!.Offset);
        Assert.Equal([1, 2], head.Upload.Parts.Select(p => p.Number));
        Assert.Equal(777, head.Upload.Tail!.Size);
        var done = await FinishFromHeadAsync(h, upload.Id, source);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Part_buffers_held_stay_within_MaxConcurrentParts_plus_one(int concurrency)
    {
        var h = Harness(concurrency);
        var source = Bytes(20 * Part, seed: 86);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.BeforeWritePart = _ => Task.Delay(10);
        h.Coordinator.PartBuffers.ResetPeak();

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(20, done.Upload!.Parts.Count);
        Assert.InRange(h.Coordinator.PartBuffers.PeakBytes, Part, (concurrency + 1L) * Part);
        Assert.Equal(0, h.Coordinator.PartBuffers.HeldBytes);
        Assert.Equal(Math.Max(concurrency, 1), h.Backend.MaxPartWritesAtOnce);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_Content_Digest_append_with_parts_in_flight_records_nothing_on_mismatch()
    {
        var h = Harness(concurrency: 2);
        var source = Bytes(4 * Part, seed: 87);
        var upload = await h.CreateAsync(length: source.Length);
        h.Backend.BeforeWritePart = _ => Task.Delay(20);

        var result = await h.AppendAsync(upload.Id, 0, source, digest: Sha256Digest(source[1..])).WaitAsync(Bound);

        Assert.Equal(UploadOutcome.DigestMismatch, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, r.Offset);
        Assert.Empty(r.Parts);
        Assert.Null(r.LeaseOwner);
        Assert.Equal(0, h.Coordinator.PartBuffers.HeldBytes);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true, digest: Sha256Digest(source));
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }
}
