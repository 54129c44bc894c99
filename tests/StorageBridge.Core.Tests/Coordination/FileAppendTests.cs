using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>Appends on the in-place file backend (no minimum part size, parts not tracked): offsets, lengths, record fields.</summary>
public sealed class FileAppendTests : IDisposable
{
    private readonly EngineHarness h = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });

    public void Dispose() => h.Dispose();

    [Fact]
    public async Task Create_writes_an_open_record_and_a_staging_folder()
    {
        var upload = await h.CreateAsync(length: 123, fileName: "a.txt");

        Assert.True(UploadIds.IsWellFormed(upload.Id));
        Assert.Equal(TargetName, upload.Target);
        Assert.Equal(upload.Id, upload.ObjectKey);
        Assert.Equal(123, upload.Length);
        Assert.Equal(0, upload.Offset);
        Assert.Equal(UploadState.Open, upload.State);
        Assert.Equal(Epoch, upload.CreatedAt);
        Assert.Equal(Epoch + TimeSpan.FromDays(1), upload.ExpiresAt);
        Assert.Empty(upload.Parts);
        Assert.Null(upload.Tail);
        Assert.Equal(0, upload.TailSequence);
        Assert.Null(upload.LeaseOwner);
        Assert.True(h.HasStagedData(upload.Id));
        var stored = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(upload.Version, stored.Version);
        Assert.Equal((upload.Id, upload.ObjectKey, upload.Length, upload.State, upload.FileName), (stored.Id, stored.ObjectKey, stored.Length, stored.State, stored.FileName));
    }

    [Fact]
    public async Task Appends_of_many_sizes_land_at_exact_offsets_and_complete_to_the_same_bytes()
    {
        int[] sizes = [1, 0, 4095, 4096, 4097, (3 * 4096) + 5, 1, 2 * 4096];
        var source = Bytes(sizes.Sum(), seed: 7);
        var upload = await h.CreateAsync();
        var offset = 0;
        foreach (var size in sizes)
        {
            var result = await h.AppendAsync(upload.Id, offset, source[offset..(offset + size)]);

            Assert.Equal(UploadOutcome.Success, result.Outcome);
            offset += size;
            var record = await h.LoadExistingAsync(upload.Id);
            Assert.Equal(offset, record.Offset);
            Assert.Equal(offset, result.Upload!.Offset);
            Assert.Empty(record.Parts); // in place: only the offset is recorded
            Assert.Null(record.Tail);
            Assert.Equal(0, record.TailSequence);
            Assert.Equal(UploadState.Open, record.State);
            Assert.Null(record.Length);
            Assert.Null(record.LeaseOwner);
            Assert.Null(record.LeaseUntil);
            Assert.Equal(offset, new FileInfo(h.StagingData(upload.Id)).Length);
        }

        var done = await h.AppendAsync(upload.Id, offset, [], complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        var completed = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completed, completed.State);
        Assert.Equal(source.Length, completed.Length);
        Assert.Equal(source.Length, completed.Offset);
        Assert.Null(completed.ExpiresAt);
        Assert.Equal(source.Length, completed.StoredObject!.Length);
        Assert.Equal(completed.ObjectKey, completed.StoredObject.Key);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.False(h.HasStagedData(upload.Id));
        Assert.Equal(source, await File.ReadAllBytesAsync(h.ObjectFile(completed.ObjectKey)));
    }

    [Fact]
    public async Task Large_append_without_content_length_streams_through_part_buffers()
    {
        var source = Bytes(200 * KiB + 17, seed: 3);
        var upload = await h.CreateAsync(length: source.Length);

        var result = await h.AppendAsync(upload.Id, 0, source, complete: true, sendContentLength: false);

        Assert.Equal(UploadOutcome.Success, result.Outcome);
        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(51, h.Backend.WritePartCalls); // 50 parts of 4 KiB and the final 17 bytes
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_zero_byte_upload_completes_to_an_empty_object()
    {
        var upload = await h.CreateAsync(length: 0);

        var result = await h.AppendAsync(upload.Id, 0, [], complete: true, isCreation: true);

        Assert.Equal(UploadOutcome.Success, result.Outcome);
        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(0, result.Upload.Length);
        Assert.Equal(0, result.Upload.StoredObject!.Length);
        Assert.Empty(await h.ReadObjectAsync(upload.Id));
        Assert.Equal(0, new FileInfo(h.ObjectFile(upload.ObjectKey)).Length);
    }

    [Fact]
    public async Task An_unknown_length_is_fixed_by_the_completing_append()
    {
        var source = Bytes(8000, seed: 4);
        var upload = await h.CreateAsync();

        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, source[..5000], sendContentLength: false)).Outcome);
        Assert.Null((await h.LoadExistingAsync(upload.Id)).Length);
        var done = await h.AppendAsync(upload.Id, 5000, source[5000..], complete: true, sendContentLength: false);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(8000, done.Upload!.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_length_declared_on_a_later_append_is_recorded_and_then_binding()
    {
        var source = Bytes(3000, seed: 5);
        var upload = await h.CreateAsync();
        await h.AppendAsync(upload.Id, 0, source[..1000]);

        var declared = await h.AppendAsync(upload.Id, 1000, source[1000..2000], declaredLength: 3000);
        Assert.Equal(UploadOutcome.Success, declared.Outcome);
        Assert.Equal(3000, (await h.LoadExistingAsync(upload.Id)).Length);

        var other = await h.AppendAsync(upload.Id, 2000, source[2000..], declaredLength: 4000);
        Assert.Equal(UploadOutcome.LengthMismatch, other.Outcome);
        var belowOffset = await h.AppendAsync(upload.Id, 2000, [], declaredLength: 1999);
        Assert.Equal(UploadOutcome.LengthMismatch, belowOffset.Outcome);
        Assert.Equal(2000, (await h.LoadExistingAsync(upload.Id)).Offset);

        var done = await h.AppendAsync(upload.Id, 2000, source[2000..], complete: true, declaredLength: 3000);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_wrong_offset_is_rejected_with_the_server_offset_and_nothing_is_written()
    {
        var upload = await h.CreateAsync();

        var ahead = await h.AppendAsync(upload.Id, 5, Bytes(10));
        Assert.Equal(UploadOutcome.OffsetMismatch, ahead.Outcome);
        Assert.Equal(0, ahead.ExpectedOffset);

        await h.AppendAsync(upload.Id, 0, Bytes(100));
        var behind = await h.AppendAsync(upload.Id, 50, Bytes(10));
        Assert.Equal(UploadOutcome.OffsetMismatch, behind.Outcome);
        Assert.Equal(100, behind.ExpectedOffset);
        Assert.Equal(100, behind.Upload!.Offset);
        Assert.Equal(1, h.Backend.WritePartCalls);
        Assert.Equal(100, (await h.LoadExistingAsync(upload.Id)).Offset);
    }

    [Fact]
    public async Task Completing_short_of_the_declared_length_keeps_the_bytes_and_stays_open()
    {
        var source = Bytes(10_000, seed: 6);
        var upload = await h.CreateAsync(length: 10_000);

        var shortComplete = await h.AppendAsync(upload.Id, 0, source[..6000], complete: true, sendContentLength: false);

        Assert.Equal(UploadOutcome.LengthMismatch, shortComplete.Outcome);
        var record = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(6000, record.Offset);
        Assert.Equal(UploadState.Open, record.State);
        Assert.Null(record.LeaseOwner);

        var done = await h.AppendAsync(upload.Id, 6000, source[6000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Completing_short_with_a_content_length_is_rejected_before_reading()
    {
        var upload = await h.CreateAsync(length: 10_000);

        var result = await h.AppendAsync(upload.Id, 0, Bytes(6000), complete: true);

        Assert.Equal(UploadOutcome.LengthMismatch, result.Outcome);
        Assert.Equal(0, (await h.LoadExistingAsync(upload.Id)).Offset);
        Assert.Equal(0, h.Backend.WritePartCalls);
    }

    [Fact]
    public async Task Bytes_beyond_the_declared_length_are_never_stored()
    {
        var source = Bytes(12_000, seed: 8);
        var upload = await h.CreateAsync(length: 10_000);

        var withLength = await h.AppendAsync(upload.Id, 0, source);
        Assert.Equal(UploadOutcome.LengthMismatch, withLength.Outcome);
        Assert.Equal(0, (await h.LoadExistingAsync(upload.Id)).Offset);

        var streamed = await h.AppendAsync(upload.Id, 0, source, complete: true, sendContentLength: false);

        Assert.Equal(UploadOutcome.LengthMismatch, streamed.Outcome);
        var record = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(10_000, record.Offset);
        Assert.Equal(UploadState.Open, record.State);
        Assert.Equal(10_000, new FileInfo(h.StagingData(upload.Id)).Length);

        var done = await h.AppendAsync(upload.Id, 10_000, [], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source[..10_000]), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Lease_is_held_while_an_append_runs_and_released_after()
    {
        var upload = await h.CreateAsync();
        var body = new TestBody(Bytes(5000), pauseAt: 3000);
        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, 5000), body, CancellationToken.None);
        await body.Paused.WaitAsync(Bound);

        var during = await h.LoadExistingAsync(upload.Id);
        Assert.Equal("node-a", during.LeaseOwner);
        Assert.Equal(Epoch + TimeSpan.FromSeconds(10), during.LeaseUntil);
        Assert.Equal(0, during.Offset);

        body.Resume();
        var result = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Success, result.Outcome);
        var after = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(5000, after.Offset);
        Assert.Null(after.LeaseOwner);
        Assert.Null(after.LeaseUntil);
    }

    [Fact]
    public async Task Unknown_targets_and_ids_are_reported()
    {
        var upload = await h.CreateAsync();

        var noTarget = await h.Coordinator.AppendAsync(Request(upload.Id, 0, 0) with { Target = "nope" }, Stream.Null, CancellationToken.None);
        var badId = await h.Coordinator.AppendAsync(Request("not-an-id", 0, 0), Stream.Null, CancellationToken.None);
        var unknownId = await h.Coordinator.AppendAsync(Request(UploadIds.New(), 0, 0), Stream.Null, CancellationToken.None);
        var create = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = "nope" }, CancellationToken.None);

        Assert.Equal(UploadOutcome.TargetNotFound, noTarget.Outcome);
        Assert.Equal(UploadOutcome.NotFound, badId.Outcome);
        Assert.Equal(UploadOutcome.NotFound, unknownId.Outcome);
        Assert.Equal(UploadOutcome.TargetNotFound, create.Outcome);
        Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.GetAsync(TargetName, UploadIds.New(), CancellationToken.None)).Outcome);
        Assert.Equal(UploadOutcome.NotFound, (await h.Coordinator.GetAsync("nope", upload.Id, CancellationToken.None)).Outcome);
    }

    [Fact]
    public async Task Appending_to_a_completed_upload_is_AlreadyCompleted()
    {
        var upload = await h.CreateAsync(length: 10);
        await h.AppendAsync(upload.Id, 0, Bytes(10), complete: true);

        var again = await h.AppendAsync(upload.Id, 10, Bytes(1));

        Assert.Equal(UploadOutcome.AlreadyCompleted, again.Outcome);
        Assert.Equal(UploadState.Completed, again.Upload!.State);
    }
}
