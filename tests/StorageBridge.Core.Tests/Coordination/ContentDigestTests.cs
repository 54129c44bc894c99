using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>Content-Digest on one append: all or nothing, on the file backend and on the S3-like tail path.</summary>
public sealed class ContentDigestTests : IDisposable
{
    private const int Part = 64 * KiB;
    private readonly EngineHarness files = new(options: new UploadTargetOptions { Backend = "FileSystem", PartSize = 4 * KiB });
    private readonly EngineHarness s3 = new(FaultInjectingBackend.S3Like(), new UploadTargetOptions { Backend = "S3Like" });

    public void Dispose()
    {
        files.Dispose();
        s3.Dispose();
    }

    [Fact]
    public async Task Matching_sha256_and_sha512_digests_append()
    {
        var h = files;
        var source = Bytes(20_000, seed: 21);
        var upload = await h.CreateAsync(length: source.Length);

        var first = await h.AppendAsync(upload.Id, 0, source[..9000], digest: Sha256Digest(source.AsSpan(0, 9000)));
        var second = await h.AppendAsync(upload.Id, 9000, source[9000..], complete: true, digest: Sha512Digest(source.AsSpan(9000)));

        Assert.Equal(UploadOutcome.Success, first.Outcome);
        Assert.Equal(9000, first.Upload!.Offset);
        Assert.Equal(UploadOutcome.Success, second.Outcome);
        Assert.Equal(UploadState.Completed, second.Upload!.State);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Theory]
    [InlineData(DigestValue.Sha256)]
    [InlineData(DigestValue.Sha512)]
    public async Task A_mismatch_appends_nothing_and_the_same_offset_works_afterwards(string algorithm)
    {
        var h = files;
        var source = Bytes(13_000, seed: 22);
        var upload = await h.CreateAsync();
        await h.AppendAsync(upload.Id, 0, source[..3000]);
        var before = await h.LoadExistingAsync(upload.Id);
        var wrong = algorithm == DigestValue.Sha256 ? Sha256Digest(source.AsSpan(0, 10)) : Sha512Digest(source.AsSpan(0, 10));

        var rejected = await h.AppendAsync(upload.Id, 3000, source[3000..], digest: wrong);

        Assert.Equal(UploadOutcome.DigestMismatch, rejected.Outcome);
        var after = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(3000, after.Offset);
        Assert.Equal(3000, rejected.Upload!.Offset);
        Assert.Equal(before.Parts, after.Parts);
        Assert.Equal(before.Tail, after.Tail);
        Assert.Equal(before.TailSequence, after.TailSequence);
        Assert.Equal(UploadState.Open, after.State);
        Assert.Null(after.LeaseOwner);

        var right = algorithm == DigestValue.Sha256 ? Sha256Digest(source.AsSpan(3000)) : Sha512Digest(source.AsSpan(3000));
        var accepted = await h.AppendAsync(upload.Id, 3000, source[3000..], complete: true, digest: right);

        Assert.Equal(UploadOutcome.Success, accepted.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_mismatch_on_the_tail_path_keeps_parts_tail_and_sequence()
    {
        var h = s3;
        var source = Bytes((3 * Part) + 500, seed: 23);
        var upload = await h.CreateAsync(length: source.Length);
        await h.AppendAsync(upload.Id, 0, source[..(Part + 10)]);
        var before = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(new TailRecord(1, 10), before.Tail);

        // Long enough to write an (unrecorded) part and a remainder.
        var rejected = await h.AppendAsync(upload.Id, Part + 10, source[(Part + 10)..], complete: true, digest: Sha256Digest(source.AsSpan(0, 1)));

        Assert.Equal(UploadOutcome.DigestMismatch, rejected.Outcome);
        var after = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Part + 10, after.Offset);
        Assert.Equal(before.Parts, after.Parts);
        Assert.Equal(new TailRecord(1, 10), after.Tail);
        Assert.Equal(1, after.TailSequence);
        Assert.Equal(UploadState.Open, after.State);
        Assert.Null(after.LeaseOwner);
        Assert.Equal(source[Part..(Part + 10)], await File.ReadAllBytesAsync(h.TailFile(upload.Id, 1)));

        var accepted = await h.AppendAsync(upload.Id, Part + 10, source[(Part + 10)..], complete: true, digest: Sha256Digest(source.AsSpan(Part + 10)));

        Assert.Equal(UploadOutcome.Success, accepted.Outcome);
        Assert.Equal(4, accepted.Upload!.Parts.Count);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_small_mismatched_append_writes_no_tail()
    {
        var h = s3;
        var upload = await h.CreateAsync();

        var rejected = await h.AppendAsync(upload.Id, 0, Bytes(100), digest: Sha256Digest(Bytes(99)));

        Assert.Equal(UploadOutcome.DigestMismatch, rejected.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, r.Offset);
        Assert.Null(r.Tail);
        Assert.Equal(0, r.TailSequence);
    }

    [Fact]
    public async Task An_interrupted_digest_append_is_all_or_nothing()
    {
        var h = s3;
        var source = Bytes(100_000, seed: 24);
        var upload = await h.CreateAsync();

        var result = await h.Coordinator.AppendAsync(
            Request(upload.Id, 0, source.Length, digest: Sha256Digest(source)), new TestBody(source, failAt: 80_000), CancellationToken.None);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(0, r.Offset);
        Assert.Empty(r.Parts);
        Assert.Null(r.Tail);
        Assert.Null(r.LeaseOwner);
    }
}
