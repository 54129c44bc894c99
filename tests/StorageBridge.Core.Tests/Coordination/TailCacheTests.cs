using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// The tail cache: an append that fills a part joins the tail from memory when this instance recorded its objects,
/// reads from the store what it did not (another instance's, evicted, never recorded), and stays within its budget.
/// </summary>
public sealed class TailCacheTests : IDisposable
{
    private const int Part = 64 * KiB;
    private static readonly BackendCapabilities S3Like = FaultInjectingBackend.S3Like(maxTailSegments: 8);
    private static readonly UploadTargetOptions Target = new() { Backend = "S3Like", PartSize = Part };
    private EngineHarness h = new(S3Like, Target);

    public void Dispose() => h.Dispose();

    [Fact]
    public async Task A_filling_append_joins_the_segments_from_memory_and_nothing_is_read_back()
    {
        var source = Bytes(100_000, seed: 301);
        var upload = await h.CreateAsync(length: source.Length);
        for (var i = 0; i < 3; i++)
        {
            await h.AppendAsync(upload.Id, i * 10_000, source[(i * 10_000)..((i + 1) * 10_000)]);
        }

        Assert.Equal(30_000, h.Coordinator.TailCache.HeldBytes);
        await h.AppendAsync(upload.Id, 30_000, source[30_000..70_000]); // fills the 64 KiB part

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal([new PartRecord(1, 0, Part, $"\"etag-1-{Part}\"")], r.Parts);
        Assert.Empty(h.Backend.TailReads);
        Assert.Equal([1, 2, 3], h.Backend.TailDeletes.Order());
        Assert.Equal(70_000 - Part, h.Coordinator.TailCache.HeldBytes); // only the new tail

        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.Equal(0, h.Coordinator.TailCache.HeldBytes);
    }

    [Fact]
    public async Task Another_instance_reads_the_segments_it_did_not_record_from_the_store()
    {
        var source = Bytes(80_000, seed: 302);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..20_000]);
        await h.AppendAsync(upload.Id, 20_000, source[20_000..40_000]);
        var (other, otherBackend) = h.NewInstance("node-b");

        await h.AppendAsync(upload.Id, 40_000, source[40_000..70_000], via: other);

        Assert.Equal([1, 2], otherBackend.TailReads.Order());
        Assert.Empty(h.Backend.TailReads);
        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true, via: other);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_segment_stored_but_never_recorded_is_not_cached_when_another_instance_writes_that_number()
    {
        var source = Bytes(90_000, seed: 303);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..10_000]);

        // Instance A stores segment 2 (bytes that were never acknowledged), then loses the lease before recording it.
        var stale = Bytes(10_000, seed: 999);
        h.Backend.AfterTailWrite = async sequence =>
        {
            h.Backend.AfterTailWrite = null;
            var current = await h.LoadExistingAsync(upload.Id);
            var taken = await h.Store.TryReplaceAsync(
                current with { LeaseOwner = "node-b", LeaseUntil = h.Time.GetUtcNow() + TimeSpan.FromMinutes(1) }, CancellationToken.None);
            Assert.Equal(MetadataWriteStatus.Success, taken.Status);
        };
        var lost = await h.AppendAsync(upload.Id, 10_000, stale);
        Assert.Equal(UploadOutcome.Conflict, lost.Outcome);
        var afterLoss = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(10_000, afterLoss.Offset);
        Assert.Equal(1, afterLoss.TailSequence);

        // Instance B writes its own segment 2 with the real bytes and records it.
        var (other, _) = h.NewInstance("node-b");
        var appended = await h.AppendAsync(upload.Id, 10_000, source[10_000..20_000], via: other);
        Assert.Equal(UploadOutcome.Success, appended.Outcome);

        // A fills the part: segment 2 must come from the store (B's bytes), not from A's memory.
        await h.AppendAsync(upload.Id, 20_000, source[20_000..70_000]);
        Assert.Equal([2], h.Backend.TailReads.Order());
        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task The_budget_evicts_the_oldest_objects_which_are_then_read_from_the_store()
    {
        h.Dispose();
        h = new EngineHarness(S3Like, Target, DefaultEngine with { TailCacheSize = 25_000 });
        var source = Bytes(70_000, seed: 304);
        var upload = await h.CreateAsync(length: source.Length);
        for (var i = 0; i < 3; i++)
        {
            await h.AppendAsync(upload.Id, i * 10_000, source[(i * 10_000)..((i + 1) * 10_000)]);
            Assert.True(h.Coordinator.TailCache.HeldBytes <= 25_000);
        }

        Assert.Equal(20_000, h.Coordinator.TailCache.HeldBytes);
        var done = await h.AppendAsync(upload.Id, 30_000, source[30_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal([1], h.Backend.TailReads.Order());
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Cancel_drops_the_uploads_objects_from_memory()
    {
        var source = Bytes(30_000, seed: 305);
        var upload = await h.CreateAsync();
        await h.AppendAsync(upload.Id, 0, source[..15_000]);
        await h.AppendAsync(upload.Id, 15_000, source[15_000..]);
        Assert.Equal(30_000, h.Coordinator.TailCache.HeldBytes);

        var cancelled = await h.Coordinator.CancelAsync(TargetName, upload.Id, CancellationToken.None);

        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        Assert.Equal(0, h.Coordinator.TailCache.HeldBytes);
    }

    [Fact]
    public void The_cache_copies_only_an_entry_of_the_asked_length_and_keeps_to_its_budget()
    {
        var cache = new TailSegmentCache(100);
        cache.Add("u", 1, Enumerable.Repeat((byte)1, 60).ToArray());
        cache.Add("u", 2, Enumerable.Repeat((byte)2, 30).ToArray());
        var into = new byte[30];
        Assert.False(cache.TryCopyTo("u", 1, into)); // recorded as 60 bytes: a 30-byte tail record is not this entry
        Assert.True(cache.TryCopyTo("u", 2, into));
        Assert.All(into, b => Assert.Equal(2, b));

        cache.Add("v", 1, new byte[50]); // 140 > 100: the least recently used ("u" 1) goes
        Assert.Equal(80, cache.HeldBytes);
        Assert.False(cache.TryCopyTo("u", 1, new byte[60]));
        cache.Add("w", 1, new byte[101]); // larger than the whole budget: not kept
        Assert.Equal(80, cache.HeldBytes);

        cache.RemoveUpload("u");
        Assert.Equal(50, cache.HeldBytes);
        Assert.Equal(0, new TailSegmentCache(0).HeldBytes);
    }
}
