using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// <c>StagingDirectory</c>: tails live as files on this machine instead of backend staging objects. Small appends
/// write nothing to the backend until a part forms; a restarted process resumes from the files; cancel, expiry and
/// completion leave no file behind.
/// </summary>
public sealed class LocalStagingTests : IDisposable
{
    private const int Part = 64 * KiB;
    private readonly EngineHarness h = new(
        FaultInjectingBackend.S3Like(maxTailSegments: 8),
        new UploadTargetOptions { Backend = "S3Like", PartSize = Part },
        localStaging: true);

    public void Dispose() => h.Dispose();

    private string StagedFile(string id, int sequence) => Path.Combine(h.StagingDirectory!, id, $"tail-{sequence}");

    [Fact]
    public async Task Small_appends_are_files_on_local_disk_and_only_parts_reach_the_backend()
    {
        var source = Bytes(150_000, seed: 401);
        var upload = await h.CreateAsync(length: source.Length);
        for (var i = 0; i < 3; i++)
        {
            await h.AppendAsync(upload.Id, i * 10_000, source[(i * 10_000)..((i + 1) * 10_000)]);
            Assert.Equal(source[(i * 10_000)..((i + 1) * 10_000)], await File.ReadAllBytesAsync(StagedFile(upload.Id, i + 1)));
        }

        Assert.Empty(h.Backend.TailWrites);
        Assert.False(File.Exists(h.TailFile(upload.Id, 1))); // nothing staged in the backend
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(30_000, r.Offset);
        Assert.Equal(3, r.Tail!.Objects.Count);

        await h.AppendAsync(upload.Id, 30_000, source[30_000..100_000]); // fills one 64 KiB part
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal([new PartRecord(1, 0, Part, $"\"etag-1-{Part}\"")], r.Parts);
        Assert.False(File.Exists(StagedFile(upload.Id, 1)));
        Assert.Equal(source[Part..100_000], await File.ReadAllBytesAsync(StagedFile(upload.Id, r.Tail!.Sequence)));
        Assert.Empty(h.Backend.TailWrites);

        var done = await h.AppendAsync(upload.Id, 100_000, source[100_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.False(Directory.Exists(Path.Combine(h.StagingDirectory!, upload.Id)));
    }

    [Fact]
    public async Task A_restarted_process_resumes_an_interrupted_append_from_the_staged_files()
    {
        var source = Bytes(120_000, seed: 402);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..20_000]);
        var interrupted = await h.Coordinator.AppendAsync(
            Request(upload.Id, 20_000, 30_000), new TestBody(source[20_000..50_000], failAt: 12_345), CancellationToken.None);
        Assert.Equal(UploadOutcome.Interrupted, interrupted.Outcome);
        Assert.Equal(32_345, (await h.LoadExistingAsync(upload.Id)).Offset);

        // A new process: same disk and store, nothing in memory.
        var (restarted, restartedBackend) = h.NewInstance("node-restarted");
        var done = await h.AppendAsync(upload.Id, 32_345, source[32_345..], complete: true, via: restarted);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.Empty(restartedBackend.TailReads); // read from the files, not the backend
        Assert.False(Directory.Exists(Path.Combine(h.StagingDirectory!, upload.Id)));
    }

    [Fact]
    public async Task Cancel_and_expiry_remove_the_staged_files()
    {
        var cancelled = await h.CreateAsync();
        await h.AppendAsync(cancelled.Id, 0, Bytes(5_000, seed: 403));
        var expiring = await h.CreateAsync();
        await h.AppendAsync(expiring.Id, 0, Bytes(7_000, seed: 404));
        Assert.True(File.Exists(StagedFile(cancelled.Id, 1)));
        Assert.True(File.Exists(StagedFile(expiring.Id, 1)));

        Assert.Equal(UploadOutcome.Success, (await h.Coordinator.CancelAsync(TargetName, cancelled.Id, CancellationToken.None)).Outcome);
        Assert.False(Directory.Exists(Path.Combine(h.StagingDirectory!, cancelled.Id)));
        Assert.True(File.Exists(StagedFile(expiring.Id, 1)));

        h.Time.Advance(TimeSpan.FromDays(2));
        Assert.True(await h.Coordinator.CleanupExpiredAsync(CancellationToken.None) >= 1);
        Assert.False(Directory.Exists(Path.Combine(h.StagingDirectory!, expiring.Id)));
        Assert.Equal(UploadState.Expired, (await h.LoadExistingAsync(expiring.Id)).State);
    }

    [Fact]
    public async Task The_store_refuses_ids_that_are_not_plain_names_and_reports_short_files()
    {
        var store = new LocalTailStore(h.StagingDirectory!);
        var bad = new UploadRecord { Id = "../escape", Target = TargetName, ObjectKey = "k" };
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteAsync(bad.Id, 1, new byte[3], CancellationToken.None));

        var upload = new UploadRecord { Id = "abc123", Target = TargetName, ObjectKey = "k" };
        await store.WriteAsync(upload.Id, 1, new byte[] { 1, 2, 3 }, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => store.ReadAsync(upload.Id, new TailRecord(1, 4), new byte[4], CancellationToken.None));
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.ReadAsync(upload.Id, new TailRecord(2, 1), new byte[1], CancellationToken.None));
        var into = new byte[3];
        await store.ReadAsync(upload.Id, new TailRecord(1, 3), into, CancellationToken.None);
        Assert.Equal(new byte[] { 1, 2, 3 }, into);
    }
}
