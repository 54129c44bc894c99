using System.Security.Cryptography;
using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// Whole-upload SHA-256 (Want-Repr-Digest / Repr-Digest). These need the resumable SHA-256 to export its state:
/// until the stub in Hashing/ResumableSha256.Stub.cs is replaced, the ones that store bytes before completing fail.
/// </summary>
public sealed class ReprDigestTests : IDisposable
{
    private readonly EngineHarness h = new(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" });

    public void Dispose() => h.Dispose();

    private async Task<UploadRecord> CreateAsync(long? length, bool track, byte[]? expected = null)
    {
        var created = await h.Coordinator.CreateAsync(
            new CreateUploadRequest
            {
                Target = TargetName,
                Length = length,
                TrackSha256 = track,
                ExpectedDigest = expected is null ? null : new DigestValue(DigestValue.Sha256, expected),
            },
            CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        return created.Upload!;
    }

    [Fact]
    public async Task Tracked_sha256_of_a_single_request_upload_is_recorded()
    {
        var source = Bytes(1000, seed: 71);
        var upload = await CreateAsync(source.Length, track: true);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(source)), done.Upload!.Sha256);
    }

    [Fact]
    public async Task Tracked_sha256_survives_parts_tails_and_several_requests()
    {
        var source = Bytes(200_000, seed: 72);
        var upload = await CreateAsync(null, track: true);

        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, source[..10])).Outcome);
        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 10, source[10..100_000])).Outcome);
        var done = await h.AppendAsync(upload.Id, 100_000, source[100_000..], complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(source)), done.Upload!.Sha256);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_matching_repr_digest_over_several_requests_completes()
    {
        var source = Bytes(150_000, seed: 73);
        var upload = await CreateAsync(source.Length, track: false, expected: SHA256.HashData(source));

        await h.AppendAsync(upload.Id, 0, source[..70_000]);
        var done = await h.AppendAsync(upload.Id, 70_000, source[70_000..], complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(UploadState.Completed, done.Upload!.State);
    }

    [Fact]
    public async Task A_repr_digest_mismatch_in_one_request_cancels_the_upload()
    {
        var source = Bytes(1000, seed: 74);
        var upload = await CreateAsync(source.Length, track: false, expected: SHA256.HashData(Bytes(1000, seed: 75)));

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadOutcome.DigestMismatch, done.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Cancelled, r.State);
        Assert.Null(r.LeaseOwner);
        Assert.False(h.HasStagedData(upload.Id));
        Assert.Equal(0, h.Backend.CompleteCalls);
    }
}
