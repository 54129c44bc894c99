using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.AspNetCore.Protocols.Resumable;
using StorageBridge.Coordination;
using StorageBridge.Core.Tests.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.AspNetCore.Tests.Resumable;

/// <summary>
/// The numbered-chunk machine (<see cref="ChunkUploads.WriteChunkAsync"/>, on the engine's public
/// <see cref="UploadAssembler"/>) over the real file backend: chunks in
/// random order, three at a time, twice; straight to parts under S3-like capabilities (the part list checked as S3
/// would) or through staging and the ordered append path; two instances sharing one store; the identity mapping.
/// </summary>
public sealed class ChunkEngineTests
{
    private const int KiB = 1024;

    public static TheoryData<string> Profiles => ["files", "s3-direct", "s3-small-chunks"];

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Shuffled_parallel_duplicate_chunks_assemble_the_file(string profile)
    {
        var (caps, options, chunkSize) = Profile(profile);
        using var harness = new EngineHarness(caps, options);
        var file = EngineHarness.Bytes((12 * 64 * KiB) + 70_001, seed: profile.Length);
        var result = await SendAllAsync([Chunks(harness.Coordinator, harness)], file, chunkSize, "f-" + profile, seed: 7, duplicates: 5);

        Assert.True(result.IsComplete);
        Assert.Equal(EngineHarness.Sha256Hex(file), EngineHarness.Sha256Hex(await harness.ReadObjectAsync(result.Upload!.Id)));
        Assert.False(harness.HasStagedData(result.Upload.Id));
        var record = await harness.LoadExistingAsync(result.Upload.Id);
        var layout = ChunkLayout.From(chunkSize, file.Length, null).Layout!.Value;
        if (profile == "s3-direct")
        {
            // Every chunk became its own part (the last one split in two): nothing was staged or re-read.
            Assert.Equal(Enumerable.Range(1, layout.DirectPartCount), record.Parts.Select(p => p.Number));
            Assert.Empty(harness.Backend.TailWrites);
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task Two_instances_sharing_one_store_take_chunks_alternately(string profile)
    {
        var (caps, options, chunkSize) = Profile(profile);
        using var harness = new EngineHarness(caps, options);
        var (other, _) = harness.NewInstance("node-b");
        using var clock = new ClockPump(harness);
        var file = EngineHarness.Bytes((9 * 64 * KiB) + 12_345, seed: 3);
        var result = await SendAllAsync([Chunks(harness.Coordinator, harness), Chunks(other, harness)], file, chunkSize, "two-" + profile, seed: 11, duplicates: 3);

        var id = result.Upload!.Id;
        await EngineHarness.WaitUntilAsync(async () => (await harness.LoadExistingAsync(id)).State == UploadState.Completed, "the upload completed");
        Assert.Equal(EngineHarness.Sha256Hex(file), EngineHarness.Sha256Hex(await harness.ReadObjectAsync(id)));
    }

    [Fact]
    public async Task Identity_is_per_principal_and_a_cancelled_upload_is_replaced()
    {
        using var harness = new EngineHarness();
        var chunks = Chunks(harness.Coordinator, harness);
        var file = EngineHarness.Bytes(3000);
        var alice = await WriteAsync(chunks, Chunk("same", 1, 1000, 3000) with { Principal = "alice" }, file.AsMemory(0, 1000));
        var bob = await WriteAsync(chunks, Chunk("same", 1, 1000, 3000) with { Principal = "bob" }, file.AsMemory(0, 1000));
        var alice2 = await WriteAsync(chunks, Chunk("same", 2, 1000, 3000) with { Principal = "alice" }, file.AsMemory(1000, 1000));
        Assert.NotEqual(alice.Upload!.Id, bob.Upload!.Id);
        Assert.Equal(alice.Upload.Id, alice2.Upload!.Id);
        Assert.True(UploadIds.IsWellFormed(alice.Upload.Id));

        // Bob's test sees nothing of Alice's chunks.
        var test = await chunks.TestChunkAsync(Chunk("same", 2, 1000, 3000) with { Principal = "bob" }, CancellationToken.None);
        Assert.False(test.ChunkStored);

        Assert.Equal(UploadOutcome.Success, (await harness.Coordinator.CancelAsync(EngineHarness.TargetName, alice.Upload.Id, "alice", CancellationToken.None)).Outcome);
        var fresh = await WriteAsync(chunks, Chunk("same", 3, 1000, 3000) with { Principal = "alice" }, file.AsMemory(2000, 1000));
        Assert.NotEqual(alice.Upload.Id, fresh.Upload!.Id);
        Assert.False((await chunks.TestChunkAsync(Chunk("same", 1, 1000, 3000) with { Principal = "alice" }, CancellationToken.None)).ChunkStored);
    }

    [Fact]
    public async Task Completed_upload_answers_duplicates_for_an_hour_then_the_lookup_is_forgotten()
    {
        using var harness = new EngineHarness();
        var chunks = Chunks(harness.Coordinator, harness);
        var file = EngineHarness.Bytes(2500);
        var done = await SendAllAsync([chunks], file, 1000, "window", seed: null, duplicates: 0);
        var again = await WriteAsync(chunks, Chunk("window", 2, 1000, 2500), file.AsMemory(1000, 1500));
        Assert.Equal(done.Upload!.Id, again.Upload!.Id);
        Assert.True(again.IsComplete);

        harness.Time.Advance(ChunkLookups.CompletedChunkWindow + TimeSpan.FromMinutes(1));
        Assert.True(await harness.Coordinator.CleanupExpiredAsync(CancellationToken.None) >= 1);
        Assert.False((await chunks.TestChunkAsync(Chunk("window", 1, 1000, 2500), CancellationToken.None)).ChunkStored);
        var later = await WriteAsync(chunks, Chunk("window", 1, 1000, 2500), file.AsMemory(0, 1000));
        Assert.NotEqual(done.Upload.Id, later.Upload!.Id);
        // The completed object is still there.
        Assert.Equal(file, await harness.ReadObjectAsync(done.Upload.Id));
    }

    [Fact]
    public async Task Last_chunk_completes_the_upload_even_when_a_dead_instance_still_holds_the_lease()
    {
        using var harness = new EngineHarness();
        var chunks = Chunks(harness.Coordinator, harness);
        using var clock = new ClockPump(harness);
        var file = EngineHarness.Bytes(3000, seed: 9);
        var first = await WriteAsync(chunks, Chunk("dead", 2, 1000, 3000), file.AsMemory(1000, 1000));
        await WriteAsync(chunks, Chunk("dead", 3, 1000, 3000), file.AsMemory(2000, 1000));

        // An instance that died while appending: its lease stays in the record until it lapses.
        var record = await harness.LoadExistingAsync(first.Upload!.Id);
        var leased = await harness.Store.TryReplaceAsync(record with { LeaseOwner = "node-dead", LeaseUntil = harness.Time.GetUtcNow() + TimeSpan.FromSeconds(10) }, CancellationToken.None);
        Assert.Equal(StorageBridge.Metadata.MetadataWriteStatus.Success, leased.Status);

        var last = await WriteAsync(chunks, Chunk("dead", 1, 1000, 3000), file.AsMemory(0, 1000));
        Assert.True(last.IsComplete);
        Assert.Equal(file, await harness.ReadObjectAsync(first.Upload.Id));
    }

    [Fact]
    public async Task Staged_chunks_of_a_cancelled_upload_are_deleted()
    {
        using var harness = new EngineHarness();
        var chunks = Chunks(harness.Coordinator, harness);
        var file = EngineHarness.Bytes(5000);
        var staged = await WriteAsync(chunks, Chunk("cancel", 3, 1000, 5000), file.AsMemory(2000, 1000));
        await WriteAsync(chunks, Chunk("cancel", 5, 1000, 5000), file.AsMemory(4000, 1000));
        Assert.True(harness.HasStagedData(staged.Upload!.Id));
        Assert.NotEmpty(harness.Backend.TailWrites);
        await harness.Coordinator.CancelAsync(EngineHarness.TargetName, staged.Upload.Id, CancellationToken.None);
        Assert.False(harness.HasStagedData(staged.Upload.Id));
    }

    [Fact]
    public async Task An_upload_kept_by_an_older_version_is_not_resumed_and_the_same_file_starts_a_new_one()
    {
        using var harness = new EngineHarness();
        var chunks = Chunks(harness.Coordinator, harness);
        var file = EngineHarness.Bytes(3000, seed: 12);
        var first = await WriteAsync(chunks, Chunk("old", 2, 1000, 3000), file.AsMemory(1000, 1000));

        // The record as versions before typed state kept it: string entries, no assembled flag.
        var record = await harness.LoadExistingAsync(first.Upload!.Id);
        var old = record with
        {
            Assembled = false,
            ProtocolState = new Dictionary<string, string>
            {
                ["resumable.layout"] = "1000;3000;3",
                ["resumable.mode"] = "ordered",
                ["resumable.lookup"] = ChunkLookups.LookupKey(EngineHarness.TargetName, Chunk("old", 2, 1000, 3000)),
                ["resumable.staged"] = "2:2:1000:1",
            },
        };
        Assert.Equal(StorageBridge.Metadata.MetadataWriteStatus.Success, (await harness.Store.TryReplaceAsync(old, CancellationToken.None)).Status);

        Assert.False((await chunks.TestChunkAsync(Chunk("old", 2, 1000, 3000), CancellationToken.None)).ChunkStored);
        var done = await SendAllAsync([chunks], file, 1000, "old", seed: null, duplicates: 0);
        Assert.NotEqual(first.Upload.Id, done.Upload!.Id);
        Assert.True(done.IsComplete);
        Assert.Equal(file, await harness.ReadObjectAsync(done.Upload.Id));
    }

    private static (StorageBridge.Backends.BackendCapabilities? Caps, UploadTargetOptions? Options, int ChunkSize) Profile(string profile) => profile switch
    {
        "files" => (null, null, 50_000),
        "s3-direct" => (FaultInjectingBackend.S3Like(maxParts: 100), new UploadTargetOptions { Backend = "FileSystem", PartSize = 64 * KiB }, 64 * KiB),
        "s3-small-chunks" => (FaultInjectingBackend.S3Like(maxParts: 100), new UploadTargetOptions { Backend = "FileSystem", PartSize = 64 * KiB }, 20_000),
        _ => throw new ArgumentOutOfRangeException(nameof(profile)),
    };

    /// <summary>The chunk machine of one instance, as the front-end gets it: over the coordinator's public API and the store.</summary>
    private static ChunkUploads Chunks(UploadCoordinator coordinator, EngineHarness harness) =>
        new(coordinator, harness.Store, NullLogger<ChunkUploads>.Instance);

    private static ChunkRequest Chunk(string identifier, int number, long chunkSize, long total) => new()
    {
        Target = EngineHarness.TargetName,
        Identifier = identifier,
        FileName = identifier + ".bin",
        ChunkNumber = number,
        ChunkSize = chunkSize,
        TotalSize = total,
    };

    private static async Task<ChunkResult> WriteAsync(ChunkUploads chunks, ChunkRequest request, ReadOnlyMemory<byte> bytes)
    {
        var result = await chunks.WriteChunkAsync(request, new TestBody(bytes.ToArray(), chunk: 4093), CancellationToken.None);
        Assert.True(result.Outcome == UploadOutcome.Success, $"{result.Outcome}: {result.Error}");
        return result;
    }

    /// <summary>Sends every chunk (shuffled when <paramref name="seed"/> is set, plus duplicates), three at a time, round-robin over the instances.</summary>
    private static async Task<ChunkResult> SendAllAsync(ChunkUploads[] instances, byte[] file, int chunkSize, string identifier, int? seed, int duplicates)
    {
        var layout = ChunkLayout.From(chunkSize, file.Length, null).Layout!.Value;
        var order = Enumerable.Range(1, layout.ChunkCount).ToList();
        if (seed is int s)
        {
            var random = new Random(s);
            order = [.. order.OrderBy(_ => random.Next())];
            order.AddRange(order.Take(duplicates).ToList());
        }

        var queue = new Queue<(int Number, int Index)>(order.Select((n, i) => (n, i)));
        var results = new List<ChunkResult>();
        async Task WorkerAsync()
        {
            while (true)
            {
                (int Number, int Index) next;
                lock (queue)
                {
                    if (!queue.TryDequeue(out next))
                    {
                        return;
                    }
                }

                var start = (int)layout.Start(next.Number);
                var result = await WriteAsync(instances[next.Index % instances.Length], Chunk(identifier, next.Number, chunkSize, file.Length), file.AsMemory(start, (int)layout.SizeOf(next.Number)));
                lock (results)
                {
                    results.Add(result);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(WorkerAsync))).WaitAsync(EngineHarness.Bound * 3);
        Assert.Single(results.Select(r => r.Upload!.Id).Distinct());
        return results.FirstOrDefault(r => r.IsComplete) ?? results[^1];
    }

    /// <summary>Moves the fake clock on in the background so leases of the other instance lapse (1 s per 5 ms).</summary>
    private sealed class ClockPump : IDisposable
    {
        private readonly CancellationTokenSource stop = new();
        private readonly Task pump;

        public ClockPump(EngineHarness harness) => pump = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                harness.Time.Advance(TimeSpan.FromSeconds(1));
                await Task.Delay(5);
            }
        });

        public void Dispose()
        {
            stop.Cancel();
            pump.Wait();
            stop.Dispose();
        }
    }
}
