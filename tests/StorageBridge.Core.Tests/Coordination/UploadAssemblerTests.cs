using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// The engine's public API for uploads built from pieces out of order (<see cref="UploadAssembler"/>), protocol-neutral:
/// who may append, unordered parts, staging reserved in the record, replay in order, compare-and-swap of protocol state.
/// </summary>
public sealed class UploadAssemblerTests
{
    [Fact]
    public async Task Only_the_assembler_appends_to_its_uploads_and_min_append_size_does_not_apply()
    {
        using var harness = new EngineHarness(options: new UploadTargetOptions { Backend = "FileSystem", MinAppendSize = 1000 });
        var assembler = harness.Coordinator.Assembler;
        var id = UploadIds.New();
        var created = await assembler.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = 300 }, id, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        Assert.Equal(id, created.Upload!.Id);
        Assert.True(created.Upload.Assembled);
        var data = Bytes(300, seed: 4);

        Assert.Equal(UploadOutcome.Conflict, (await harness.AppendAsync(id, 0, data[..100])).Outcome);
        var first = await assembler.AppendAsync(Request(id, 0, 100), new TestBody(data[..100]), yieldToOtherInstance: true, CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, first.Outcome);
        Assert.Equal(100, first.Upload!.Offset);
        var last = await assembler.AppendAsync(Request(id, 100, 200, complete: true), new TestBody(data[100..]), yieldToOtherInstance: true, CancellationToken.None);
        Assert.Equal(UploadState.Completed, last.Upload!.State);
        Assert.Equal(Sha256Hex(data), Sha256Hex(await harness.ReadObjectAsync(id)));

        // ...and never to an ordinary upload.
        var plain = await harness.CreateAsync(length: 10);
        Assert.False(plain.Assembled);
        var refused = await assembler.AppendAsync(Request(plain.Id, 0, 10, complete: true), new TestBody(Bytes(10)), yieldToOtherInstance: true, CancellationToken.None);
        Assert.Equal(UploadOutcome.Conflict, refused.Outcome);
        Assert.Throws<ArgumentException>(() => { _ = assembler.CreateAsync(new CreateUploadRequest { Target = TargetName }, "not-an-id", CancellationToken.None); });
    }

    [Fact]
    public async Task Parts_written_out_of_order_commit_when_they_cover_the_length_and_a_second_copy_is_not_recorded()
    {
        using var harness = new EngineHarness(FaultInjectingBackend.S3Like(maxParts: 100), new UploadTargetOptions { Backend = "FileSystem", PartSize = 64 * KiB });
        var assembler = harness.Coordinator.Assembler;
        var data = Bytes((2 * 64 * KiB) + 100, seed: 5);
        var upload = (await assembler.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = data.Length }, UploadIds.New(), CancellationToken.None)).Upload!;

        // Bytes 64 KiB.. as parts 2 and 3 (64 KiB and the 100-byte rest), before part 1.
        var tail = await assembler.WritePartsAsync(upload, 2, 64 * KiB, data.Length - (64 * KiB), 64 * KiB, new TestBody(data[(64 * KiB)..]), CancellationToken.None);
        Assert.True(tail.Recorded);
        Assert.Equal(UploadState.Open, tail.Upload!.State);
        Assert.Equal([2, 3], tail.Upload.Parts.Select(p => p.Number));

        var head = await assembler.WritePartsAsync(tail.Upload, 1, 0, 64 * KiB, 64 * KiB, new TestBody(data[..(64 * KiB)]), CancellationToken.None);
        Assert.True(head.Recorded);
        Assert.Equal(UploadOutcome.Success, head.Outcome);
        Assert.Equal(UploadState.Completed, head.Upload!.State);
        Assert.Equal(Sha256Hex(data), Sha256Hex(await harness.ReadObjectAsync(upload.Id)));

        var again = await assembler.WritePartsAsync(tail.Upload, 1, 0, 64 * KiB, 64 * KiB, new TestBody(data[..(64 * KiB)]), CancellationToken.None);
        Assert.False(again.Recorded);
        Assert.Equal(UploadState.Completed, again.Upload!.State);
        Assert.Equal(UploadState.Completed, (await assembler.CompleteAsync(again.Upload, CancellationToken.None)).Upload!.State);
    }

    [Fact]
    public async Task Staged_bytes_are_reserved_with_the_protocol_state_then_appended_in_order_and_deleted()
    {
        using var harness = new EngineHarness(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 700 });
        var assembler = harness.Coordinator.Assembler;
        var data = Bytes(3000, seed: 6);
        var upload = (await assembler.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = data.Length }, UploadIds.New(), CancellationToken.None)).Upload!;

        var reserved = await assembler.TryReserveStagingAsync(upload, 2000, range => new Dictionary<string, string> { ["staged"] = range.FirstSequence + "+" + range.PieceCount }, CancellationToken.None);
        Assert.NotNull(reserved);
        Assert.Equal(new StagedRange(upload.TailSequence + 2, 700, 2000), reserved.Range);
        Assert.Equal(3, reserved.Range.PieceCount);
        Assert.Equal(reserved.Range.FirstSequence + 2, reserved.Upload.TailSequence);
        Assert.Equal($"{reserved.Range.FirstSequence}+3", reserved.Upload.ProtocolState["staged"]);

        // Compare-and-swap: a caller holding the old version loses, with the record unchanged.
        Assert.Null(await assembler.TryReserveStagingAsync(upload, 10, _ => upload.ProtocolState, CancellationToken.None));
        Assert.Null(await assembler.TryReplaceProtocolStateAsync(upload, new Dictionary<string, string>(), CancellationToken.None));

        await assembler.WriteStagedAsync(reserved.Upload, reserved.Range, new TestBody(data[1000..]), CancellationToken.None);
        await Assert.ThrowsAsync<InvalidDataException>(() => assembler.WriteStagedAsync(reserved.Upload, reserved.Range, new TestBody(data[..10]), CancellationToken.None));
        await assembler.WriteStagedAsync(reserved.Upload, reserved.Range, new TestBody(data[1000..]), CancellationToken.None);
        var head = await assembler.AppendAsync(Request(upload.Id, 0, 1000), new TestBody(data[..1000]), yieldToOtherInstance: true, CancellationToken.None);
        Assert.Equal(1000, head.Upload!.Offset);

        // The first 500 staged bytes arrive another way meanwhile: replay skips them.
        var more = await assembler.AppendAsync(Request(upload.Id, 1000, 500), new TestBody(data[1000..1500]), yieldToOtherInstance: true, CancellationToken.None);
        Assert.Equal(1500, more.Upload!.Offset);
        var replayed = await assembler.AppendStagedAsync(more.Upload, reserved.Range, skip: 500, complete: true, CancellationToken.None);
        Assert.Equal(UploadState.Completed, replayed.Upload!.State);
        Assert.Equal(Sha256Hex(data), Sha256Hex(await harness.ReadObjectAsync(upload.Id)));

        var written = await assembler.TryReplaceProtocolStateAsync(replayed.Upload, new Dictionary<string, string> { ["staged"] = "" }, CancellationToken.None);
        Assert.Equal("", written!.ProtocolState["staged"]);
        await assembler.DeleteStagedAsync(written, reserved.Range, CancellationToken.None);
        Assert.False(harness.HasStagedData(upload.Id));
    }
}
