using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Tails of several segment objects (<c>MaxTailSegments</c> &gt; 1) on the S3-like path over files: a small append
/// writes only its own bytes as one more segment, nothing is read back until a part forms (or the segments run out),
/// recorded segments are never overwritten, and failures keep the earlier segments. Runs without the tail cache.
/// </summary>
public sealed class SegmentedTailTests : IDisposable
{
    private const int Part = 64 * KiB;
    // Without the tail cache: every read-back goes to the backend (TailCacheTests covers the cache).
    private readonly EngineHarness h = new(
        FaultInjectingBackend.S3Like(maxTailSegments: 4),
        new UploadTargetOptions { Backend = "S3Like", PartSize = Part },
        EngineHarness.DefaultEngine with { TailCacheSize = 0 });

    public void Dispose() => h.Dispose();

    private static TailRecord Single(int sequence, long size) => new(sequence, size);

    [Fact]
    public async Task Small_appends_add_segments_that_are_read_back_once_when_a_part_forms()
    {
        var source = Bytes(200_000, seed: 91);
        var upload = await h.CreateAsync();

        // 1st: an ordinary one-object tail.
        await h.AppendAsync(upload.Id, 0, source[..10_000]);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Single(1, 10_000), r.Tail);

        // 2nd..4th: one new segment each, holding only that append's bytes; nothing read back, nothing deleted.
        for (var i = 1; i < 4; i++)
        {
            await h.AppendAsync(upload.Id, i * 10_000, source[(i * 10_000)..((i + 1) * 10_000)]);
        }

        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(40_000, r.Offset);
        Assert.Empty(r.Parts);
        Assert.Equal(4, r.Tail!.Sequence);
        Assert.Equal(40_000, r.Tail.Size);
        Assert.Equal([Single(1, 10_000), Single(2, 10_000), Single(3, 10_000), Single(4, 10_000)], r.Tail.Objects);
        Assert.Equal(4, r.TailSequence);
        Assert.Empty(h.Backend.TailReads);
        Assert.Empty(h.Backend.TailDeletes);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(source[(i * 10_000)..((i + 1) * 10_000)], await File.ReadAllBytesAsync(h.TailFile(upload.Id, i + 1)));
        }

        // 5th: four segments is the limit, so the tail is read back and rewritten as one object.
        await h.AppendAsync(upload.Id, 40_000, source[40_000..50_000]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Single(5, 50_000), r.Tail);
        Assert.Equal([1, 2, 3, 4], h.Backend.TailReads.Order());
        Assert.Equal([1, 2, 3, 4], h.Backend.TailDeletes.Order());
        Assert.Equal(source[..50_000], await File.ReadAllBytesAsync(h.TailFile(upload.Id, 5)));

        // 6th: a segment again, then an append that fills a part reads both segments once.
        await h.AppendAsync(upload.Id, 50_000, source[50_000..60_000]);
        Assert.Equal(2, (await h.LoadExistingAsync(upload.Id)).Tail!.Objects.Count);
        await h.AppendAsync(upload.Id, 60_000, source[60_000..70_000]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(70_000, r.Offset);
        Assert.Equal([new PartRecord(1, 0, Part, $"\"etag-1-{Part}\"")], r.Parts);
        Assert.Equal(Single(7, 70_000 - Part), r.Tail);
        Assert.Equal([1, 2, 3, 4, 5, 6], h.Backend.TailReads.Order());
        Assert.Equal([1, 2, 3, 4, 5, 6], h.Backend.TailDeletes.Order());

        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.False(h.HasStagedData(upload.Id));
    }

    [Fact]
    public async Task A_failed_segment_write_keeps_the_earlier_segments_and_a_retry_replaces_the_torn_one()
    {
        var source = Bytes(30_000, seed: 92);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..10_000]);
        await h.AppendAsync(upload.Id, 10_000, source[10_000..20_000]);
        var before = await h.LoadExistingAsync(upload.Id);
        h.Backend.FailTailWriteOfSequence = 3;

        await Assert.ThrowsAsync<IOException>(() => h.AppendAsync(upload.Id, 20_000, source[20_000..25_000]));

        var after = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(before.Tail, after.Tail);
        Assert.Equal(20_000, after.Offset);
        Assert.Equal(2, after.TailSequence);
        Assert.Null(after.LeaseOwner);
        Assert.True(File.Exists(h.TailFile(upload.Id, 3))); // torn, unrecorded: the retry writes sequence 3 again

        await h.AppendAsync(upload.Id, 20_000, source[20_000..25_000]);
        var retried = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(3, retried.Tail!.Objects.Count);
        Assert.Equal(source[20_000..25_000], await File.ReadAllBytesAsync(h.TailFile(upload.Id, 3)));

        var done = await h.AppendAsync(upload.Id, 25_000, source[25_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task An_interrupted_small_append_keeps_what_arrived_as_one_more_segment()
    {
        var source = Bytes(100_000, seed: 93);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..10_000]);

        var result = await h.Coordinator.AppendAsync(
            Request(upload.Id, 10_000, 20_000), new TestBody(source[10_000..30_000], failAt: 6_000), CancellationToken.None);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(16_000, r.Offset);
        Assert.Equal([Single(1, 10_000), Single(2, 6_000)], r.Tail!.Objects);
        Assert.Empty(h.Backend.TailReads);

        var done = await h.AppendAsync(upload.Id, 16_000, source[16_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.False(h.HasStagedData(upload.Id));
    }

    [Fact]
    public async Task A_segmented_tail_survives_the_metadata_document_round_trip()
    {
        var tail = Single(1, 5).Append(2, 7).Append(3, 9);
        var record = new UploadRecord { Id = "x", Target = "t", ObjectKey = "k", Offset = 21, Tail = tail, TailSequence = 3 };

        var read = UploadRecordJson.Deserialize(UploadRecordJson.Serialize(record), "1");

        Assert.Equal(tail, read.Tail);
        Assert.Equal([1, 2, 3], read.Tail!.Objects.Select(o => o.Sequence));
        Assert.Equal(21, read.Tail.Size);
        Assert.NotEqual(Single(3, 21), read.Tail);
        Assert.Equal(0, read.PartsLength);
    }
}
