using StorageBridge.Coordination;
using StorageBridge.Targets;
using StorageBridge.Uploads;
using static StorageBridge.Core.Tests.Coordination.EngineHarness;

namespace StorageBridge.Core.Tests.Coordination;

/// <summary>
/// The S3-like path (minimum part size 64 KiB, at most 10 tracked parts) on the file backend through
/// <see cref="FaultInjectingBackend"/>: parts, tails, sequences, and a part list the service would accept.
/// </summary>
public sealed class TailPathTests : IDisposable
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

    private EngineHarness Harness(long alignment = 1, int? partSize = null)
    {
        var harness = new EngineHarness(
            FaultInjectingBackend.S3Like(alignment),
            new UploadTargetOptions { Backend = "S3Like", PartSize = partSize });
        harnesses.Add(harness);
        return harness;
    }

    private static PartRecord P(int number, long offset, long size) => new(number, offset, size, $"\"etag-{number}-{size}\"");

    [Fact]
    public async Task Small_appends_join_in_tails_until_a_part_fills_and_old_tails_are_deleted()
    {
        var h = Harness();
        var source = Bytes(327_686, seed: 11);
        var upload = await h.CreateAsync();

        // 1 byte: below the minimum, becomes tail 1.
        Assert.Equal(UploadOutcome.Success, (await h.AppendAsync(upload.Id, 0, source[..1])).Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(1, r.Offset);
        Assert.Empty(r.Parts);
        Assert.Equal(new TailRecord(1, 1), r.Tail);
        Assert.Equal(1, r.TailSequence);
        Assert.Equal(source[..1], await File.ReadAllBytesAsync(h.TailFile(upload.Id, 1)));

        // 10 more bytes: tail 1 is read back, joined, written as tail 2; tail 1 is deleted.
        await h.AppendAsync(upload.Id, 1, source[1..11]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(11, r.Offset);
        Assert.Empty(r.Parts);
        Assert.Equal(new TailRecord(2, 11), r.Tail);
        Assert.Equal(2, r.TailSequence);
        Assert.Equal(source[..11], await File.ReadAllBytesAsync(h.TailFile(upload.Id, 2)));
        Assert.False(File.Exists(h.TailFile(upload.Id, 1)));

        // Exactly the rest of one part: tail 2 + body become part 1, no tail is left.
        await h.AppendAsync(upload.Id, 11, source[11..Part]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(Part, r.Offset);
        Assert.Equal([P(1, 0, Part)], r.Parts);
        Assert.Null(r.Tail);
        Assert.Equal(2, r.TailSequence);
        Assert.False(File.Exists(h.TailFile(upload.Id, 2)));

        // A part and one byte: part 2 and tail 3.
        await h.AppendAsync(upload.Id, Part, source[Part..((2 * Part) + 1)]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal((2 * Part) + 1, r.Offset);
        Assert.Equal([P(1, 0, Part), P(2, Part, Part)], r.Parts);
        Assert.Equal(new TailRecord(3, 1), r.Tail);
        Assert.Equal(3, r.TailSequence);

        // Several parts: the 1-byte tail leads part 3; 6 bytes are left as tail 4.
        await h.AppendAsync(upload.Id, (2 * Part) + 1, source[((2 * Part) + 1)..]);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(327_686, r.Offset);
        Assert.Equal([P(1, 0, Part), P(2, Part, Part), P(3, 2 * Part, Part), P(4, 3 * Part, Part), P(5, 4 * Part, Part)], r.Parts);
        Assert.Equal(new TailRecord(4, 6), r.Tail);
        Assert.Equal(4, r.TailSequence);
        Assert.Equal(327_680, r.PartsLength);
        Assert.False(File.Exists(h.TailFile(upload.Id, 3)));
        Assert.Equal([1, 2, 3], h.Backend.TailDeletes.Order().ToArray());

        // Completion: the 6-byte tail goes up as a small final part.
        var done = await h.AppendAsync(upload.Id, 327_686, [], complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(UploadState.Completed, r.State);
        Assert.Equal(6, r.Parts.Count);
        Assert.Equal(P(6, 327_680, 6), r.Parts[5]);
        Assert.Null(r.Tail);
        Assert.Equal(327_686, r.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
        Assert.False(h.HasStagedData(upload.Id));
    }

    [Fact]
    public async Task One_request_below_the_minimum_completes_as_a_single_small_part_without_a_tail()
    {
        var h = Harness();
        var source = Bytes(1000, seed: 12);
        var upload = await h.CreateAsync(length: 1000);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal([P(1, 0, 1000)], done.Upload!.Parts);
        Assert.Empty(h.Backend.TailWrites);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Theory]
    [InlineData(Part)]
    [InlineData(Part + 1)]
    [InlineData((3 * Part) + 17)]
    public async Task One_completing_request_of_one_or_more_parts(int size)
    {
        var h = Harness();
        var source = Bytes(size, seed: size);
        var upload = await h.CreateAsync(length: size);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true, sendContentLength: false);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal((size + Part - 1) / Part, done.Upload!.Parts.Count);
        Assert.Equal(size, done.Upload.Parts.Sum(p => p.Size));
        Assert.Empty(h.Backend.TailWrites);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_zero_byte_upload_completes_with_no_parts()
    {
        var h = Harness();
        var upload = await h.CreateAsync(length: 0);

        var done = await h.AppendAsync(upload.Id, 0, [], complete: true, isCreation: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Empty(done.Upload!.Parts);
        Assert.Equal(0, done.Upload.StoredObject!.Length);
        Assert.Empty(await h.ReadObjectAsync(upload.Id));
    }

    [Fact]
    public async Task Appends_between_the_minimum_and_the_part_size_do_not_use_up_MaxParts()
    {
        // Part size 128 KiB, minimum 64 KiB, 10 parts: 1,280 KiB may be uploaded without a declared length.
        var h = Harness(partSize: 2 * Part);
        Assert.Equal(1280 * KiB, h.Target.Limits.MaxSize);
        var source = Bytes(1200 * KiB, seed: 13);
        var upload = await h.CreateAsync();

        for (var offset = 0; offset < source.Length; offset += 100 * KiB)
        {
            var result = await h.AppendAsync(upload.Id, offset, source[offset..(offset + (100 * KiB))]);
            Assert.Equal(UploadOutcome.Success, result.Outcome);
        }

        var done = await h.AppendAsync(upload.Id, source.Length, [], complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(10, done.Upload!.Parts.Count); // 9 x 128 KiB + 48 KiB
        Assert.All(done.Upload.Parts.Take(9), p => Assert.Equal(2 * Part, p.Size));
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_declared_length_grows_parts_to_the_alignment_so_ten_parts_cover_it()
    {
        var h = Harness(alignment: 16 * KiB);
        var source = Bytes(1024 * KiB, seed: 14);
        var upload = await h.CreateAsync(length: source.Length);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        var parts = done.Upload!.Parts;
        Assert.Equal(10, parts.Count);
        Assert.All(parts.Take(9), p => Assert.Equal(114_688, p.Size)); // ceil(1 MiB / 10) rounded up to 16 KiB
        Assert.Equal(source.Length - (9 * 114_688), parts[9].Size);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task A_length_declared_later_grows_the_remaining_parts()
    {
        var h = Harness(alignment: 16 * KiB);
        var source = Bytes(1024 * KiB, seed: 15);
        var upload = await h.CreateAsync();

        await h.AppendAsync(upload.Id, 0, source[..(Part + 10)]);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal([P(1, 0, Part)], r.Parts);
        Assert.Equal(new TailRecord(1, 10), r.Tail);

        // 960 KiB left for 9 parts: ceil(983,040 / 9) = 109,227 -> 114,688 (7 x 16 KiB).
        var done = await h.AppendAsync(upload.Id, Part + 10, source[(Part + 10)..], complete: true, declaredLength: source.Length);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        var parts = done.Upload!.Parts;
        Assert.Equal(10, parts.Count);
        Assert.All(parts.Skip(1).Take(8), p => Assert.Equal(114_688, p.Size));
        Assert.Equal(1024 * KiB, done.Upload.Length);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task With_alignment_the_unaligned_remainder_becomes_the_tail()
    {
        var h = Harness(alignment: 16 * KiB, partSize: 80 * KiB);
        var source = Bytes(100_000, seed: 16);
        var upload = await h.CreateAsync();

        await h.AppendAsync(upload.Id, 0, source);

        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(100_000, r.Offset);
        Assert.Equal([P(1, 0, 80 * KiB)], r.Parts);
        Assert.Equal(new TailRecord(1, 100_000 - (80 * KiB)), r.Tail);
    }

    [Fact]
    public async Task Without_a_declared_length_MaxParts_times_PartSize_is_the_limit()
    {
        var h = Harness();
        Assert.Equal(640 * KiB, h.Target.Limits.MaxSize);
        Assert.Equal(10 * 1024 * KiB, UploadCoordinator.MaxLength(h.Target, declared: true));
        var source = Bytes((640 * KiB) + 1, seed: 17);
        var upload = await h.CreateAsync();

        var announced = await h.AppendAsync(upload.Id, 0, source);
        Assert.Equal(UploadOutcome.TooLarge, announced.Outcome);
        Assert.Equal(LimitKind.MaxSize, announced.Limit);
        Assert.Equal(0, (await h.LoadExistingAsync(upload.Id)).Offset);

        var streamed = await h.AppendAsync(upload.Id, 0, source, sendContentLength: false);
        Assert.Equal(UploadOutcome.TooLarge, streamed.Outcome);
        Assert.Equal(LimitKind.MaxSize, streamed.Limit);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(640 * KiB, r.Offset);
        Assert.Equal(10, r.Parts.Count);
        Assert.Null(r.Tail);

        var done = await h.AppendAsync(upload.Id, 640 * KiB, [], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source[..(640 * KiB)]), Sha256Hex(await h.ReadObjectAsync(upload.Id)));

        var tooLarge = await h.Coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = (10 * 1024 * KiB) + 1 }, CancellationToken.None);
        Assert.Equal(UploadOutcome.TooLarge, tooLarge.Outcome);
    }

    [Fact]
    public async Task The_same_size_declared_up_front_fits_because_parts_grow()
    {
        var h = Harness();
        var source = Bytes((640 * KiB) + 1, seed: 18);
        var upload = await h.CreateAsync(length: source.Length);

        var done = await h.AppendAsync(upload.Id, 0, source, complete: true);

        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(10, done.Upload!.Parts.Count);
        Assert.All(done.Upload.Parts.Take(9), p => Assert.Equal(Part + 1, p.Size));
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Interrupted_body_keeps_the_prefix_as_parts_and_tail()
    {
        var h = Harness();
        var source = Bytes(300_000, seed: 19);
        var upload = await h.CreateAsync(length: source.Length);

        var result = await h.Coordinator.AppendAsync(
            Request(upload.Id, 0, source.Length, complete: true), new TestBody(source, failAt: 150_000), CancellationToken.None);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(150_000, r.Offset);
        Assert.Equal([P(1, 0, Part), P(2, Part, Part)], r.Parts);
        Assert.Equal(new TailRecord(1, 150_000 - (2 * Part)), r.Tail);
        Assert.Equal(r.Offset, r.PartsLength + r.Tail!.Size);
        Assert.Equal(UploadState.Open, r.State);
        Assert.Null(r.LeaseOwner);

        var done = await h.AppendAsync(upload.Id, 150_000, source[150_000..], complete: true);
        Assert.Equal(UploadOutcome.Success, done.Outcome);
        Assert.Equal(Sha256Hex(source), Sha256Hex(await h.ReadObjectAsync(upload.Id)));
    }

    [Fact]
    public async Task Cancelled_request_token_keeps_the_prefix_as_parts_and_tail()
    {
        var h = Harness();
        var source = Bytes(200_000, seed: 20);
        var upload = await h.CreateAsync();
        using var aborted = new CancellationTokenSource();
        var body = new TestBody(source, pauseAt: 70_000, clientGone: aborted.Token);

        var append = h.Coordinator.AppendAsync(Request(upload.Id, 0, null), body, aborted.Token);
        await body.Paused.WaitAsync(Bound);
        await aborted.CancelAsync();
        var result = await append.WaitAsync(Bound);

        Assert.Equal(UploadOutcome.Interrupted, result.Outcome);
        var r = await h.LoadExistingAsync(upload.Id);
        Assert.Equal(70_000, r.Offset);
        Assert.Equal([P(1, 0, Part)], r.Parts);
        Assert.Equal(new TailRecord(1, 70_000 - Part), r.Tail);
    }
}
