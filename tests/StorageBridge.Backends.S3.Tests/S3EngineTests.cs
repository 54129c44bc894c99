using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using StorageBridge.Coordination;
using StorageBridge.Metadata;
using StorageBridge.Targets;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// The upload engine (UploadCoordinator + InMemory store) on the S3 backend against the emulator: client appends of any
/// size become valid S3 parts through tails, and what ends up in the bucket is checked with a separate SDK client.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3EngineTests(S3Endpoint endpoint) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private const string TargetName = "s3";
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero));
    private readonly InMemoryUploadMetadataStore store = new();
    private readonly S3FaultInjector faults = new();
    private readonly AmazonS3Client inspector = endpoint.CreateClient();
    private readonly List<S3Backend> backends = [];
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(2));
    private readonly List<string> objectsRead = [];

    private CancellationToken Ct => timeout.Token;

    [Theory]
    [InlineData(MiB, 20 * MiB + 12_345)]       // 1 MiB appends: eight joined per 8 MiB part through tails
    [InlineData(4_500_000, 22_500_000 + 777)] // Lambda-sized appends: 4.5 MB tails joined with the next append
    [InlineData(5 * MiB, 16 * MiB + 1)]       // exactly the S3 minimum
    public async Task Appends_of_any_size_become_valid_parts_and_the_object_matches(int appendSize, int total)
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes(total, seed: appendSize);
        var upload = await CreateAsync(coordinator, length: null);

        long offset = 0;
        while (offset < total)
        {
            var size = (int)Math.Min(appendSize, total - offset);
            var last = offset + size == total;
            var result = await AppendAsync(coordinator, upload.Id, offset, source.AsMemory((int)offset, size), complete: last);
            Assert.Equal(UploadOutcome.Success, result.Outcome);
            offset += size;
            Assert.Equal(offset, result.Upload!.Offset);
            if (!last)
            {
                // Every non-final part the engine recorded is a valid S3 part; the rest is the durable tail.
                Assert.All(result.Upload.Parts, p => Assert.True(p.Size >= 5 * MiB, $"part {p.Number} has {p.Size} bytes"));
                Assert.Equal(offset, result.Upload.Parts.Sum(p => p.Size) + (result.Upload.Tail?.Size ?? 0));
            }
        }

        var completed = await store.GetAsync(upload.Id, Ct);
        Assert.Equal(UploadState.Completed, completed!.State);
        Assert.Equal(Enumerable.Range(1, completed.Parts.Count), completed.Parts.Select(p => p.Number));
        Assert.All(completed.Parts.SkipLast(1), p => Assert.True(p.Size >= 5 * MiB));
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(completed.ObjectKey));
        await AssertNoStagingAsync(backend, completed);
    }

    [Fact]
    public async Task With_a_StagingDirectory_1_MiB_appends_stage_on_local_disk_and_only_parts_reach_the_bucket()
    {
        var staging = Path.Combine(Path.GetTempPath(), "sb-s3-staging-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (coordinator, backend) = NewEngine(stagingDirectory: staging);
            const int total = (17 * MiB) + 4321;
            var source = Bytes(total, seed: 77);
            var requests = new List<string>();
            faults.Observe = request =>
            {
                lock (requests)
                {
                    requests.Add($"{request.Method} {request.RequestUri!.AbsolutePath}{request.RequestUri.Query}");
                }

                return Task.CompletedTask;
            };
            var upload = await CreateAsync(coordinator, length: total);
            for (var offset = 0; offset < total; offset += MiB)
            {
                var size = Math.Min(MiB, total - offset);
                var result = await AppendAsync(coordinator, upload.Id, offset, source.AsMemory(offset, size), complete: offset + size == total);
                Assert.Equal(UploadOutcome.Success, result.Outcome);
                if (result.Upload!.Tail is { } tail)
                {
                    // The durable tail is on local disk, never in the bucket.
                    Assert.All(tail.Objects, o => Assert.Equal(o.Size, new FileInfo(Path.Combine(staging, upload.Id, $"tail-{o.Sequence}")).Length));
                    Assert.False(await ExistsAsync(backend.TailKey(upload.Id, tail.Sequence)));
                }
            }

            var completed = await store.GetAsync(upload.Id, Ct);
            Assert.Equal(UploadState.Completed, completed!.State);
            Assert.Equal([8 * MiB, 8 * MiB, MiB + 4321], completed.Parts.Select(p => p.Size));
            Assert.Equal(Sha256Hex(source), await ObjectSha256Async(completed.ObjectKey));
            Assert.False(Directory.Exists(Path.Combine(staging, upload.Id)));
            lock (requests)
            {
                // Every byte crossed to S3 once: three UploadParts and no tail PUT or GET.
                Assert.Equal(3, requests.Count(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("partNumber=", StringComparison.Ordinal)));
                Assert.DoesNotContain(requests, r => r.Contains("storagebridge-staging", StringComparison.Ordinal));
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    [Fact]
    public async Task Every_part_carries_the_SHA256_of_its_bytes_for_S3_to_verify_and_completion_repeats_it()
    {
        // fauxqs verifies no checksums, so check what goes on the wire: S3 and MinIO reject a part whose
        // x-amz-checksum-sha256 does not match the bytes they received (BadDigest).
        var sent = new List<(string Part, string Checksum)>();
        string? completeBody = null;
        faults.Observe = async request =>
        {
            var query = request.RequestUri!.Query;
            if (request.Method == HttpMethod.Put && query.Contains("partNumber=", StringComparison.Ordinal))
            {
                lock (sent)
                {
                    sent.Add((query, request.Headers.GetValues("x-amz-checksum-sha256").Single()));
                }
            }
            else if (request.Method == HttpMethod.Post && query.Contains("uploadId=", StringComparison.Ordinal) && request.Content is not null)
            {
                completeBody = await request.Content.ReadAsStringAsync();
            }
        };
        var (coordinator, _) = NewEngine();
        var source = Bytes(13 * MiB + 5, seed: 12);
        var upload = await CreateAsync(coordinator, length: source.Length);
        var result = await AppendAsync(coordinator, upload.Id, 0, source, complete: true);
        faults.Observe = null;

        var parts = result.Upload!.Parts;
        Assert.Equal(2, parts.Count);
        foreach (var part in parts)
        {
            var expected = Convert.ToBase64String(SHA256.HashData(source.AsSpan((int)part.Offset, (int)part.Size)));
            Assert.Equal(expected, part.Checksum);
            Assert.Contains(sent, s => s.Part.Contains($"partNumber={part.Number}", StringComparison.Ordinal) && s.Checksum == expected);
            Assert.Contains($"<ChecksumSHA256>{expected}</ChecksumSHA256>", completeBody, StringComparison.Ordinal);
        }

        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(result.Upload.ObjectKey));
    }

    [Fact]
    public async Task Small_upload_completes_in_one_request_and_a_zero_byte_upload_is_an_empty_object()
    {
        var (coordinator, backend) = NewEngine();
        var small = Bytes(1000, seed: 3);
        var upload = await CreateAsync(coordinator, length: 1000);
        var result = await AppendAsync(coordinator, upload.Id, 0, small, complete: true);
        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(Sha256Hex(small), await ObjectSha256Async(result.Upload.ObjectKey));

        var empty = await CreateAsync(coordinator, length: null);
        var emptyResult = await AppendAsync(coordinator, empty.Id, 0, Array.Empty<byte>(), complete: true);
        Assert.Equal(UploadState.Completed, emptyResult.Upload!.State);
        var head = await inspector.GetObjectMetadataAsync(endpoint.Bucket, emptyResult.Upload.ObjectKey, Ct);
        Assert.Equal(0, head.ContentLength);
        await AssertMultipartGoneAsync(emptyResult.Upload);
        await AssertNoStagingAsync(backend, emptyResult.Upload);
    }

    [Fact]
    public async Task MaxParts_grows_the_part_size_for_a_declared_length_and_bounds_an_undeclared_one()
    {
        // A store limited to 2 parts of (at least) 5 MiB.
        var (coordinator, _) = NewEngine(maxParts: 2, partSize: 5 * MiB);
        var declared = Bytes(11 * MiB + 7, seed: 40);
        var upload = await CreateAsync(coordinator, length: declared.Length);
        var result = await AppendAsync(coordinator, upload.Id, 0, declared, complete: true);
        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(2, result.Upload.Parts.Count); // parts grew past 5 MiB so two of them cover 11 MiB
        Assert.Equal(Sha256Hex(declared), await ObjectSha256Async(result.Upload.ObjectKey));

        // Without a declared length only MaxParts x PartSize fits: refused before anything past it is stored.
        var open = await CreateAsync(coordinator, length: null);
        var tooLarge = await AppendAsync(coordinator, open.Id, 0, Bytes(11 * MiB, seed: 41), complete: true);
        Assert.Equal(UploadOutcome.TooLarge, tooLarge.Outcome);
        Assert.Equal(LimitKind.MaxSize, tooLarge.Limit);
        var kept = await store.GetAsync(open.Id, Ct);
        Assert.True(kept!.Offset <= 10 * MiB, $"offset {kept.Offset}");
        Assert.True(kept.Parts.Count <= 2);
        Assert.All(kept.Parts, p => Assert.InRange(p.Number, 1, 2));
    }

    [Fact]
    public async Task Cancel_aborts_the_multipart_upload_and_deletes_every_staging_object()
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes(9 * MiB + 500, seed: 4);
        var upload = await CreateAsync(coordinator, length: null);
        var appended = await AppendAsync(coordinator, upload.Id, 0, source, complete: false);
        Assert.Single(appended.Upload!.Parts);
        Assert.NotNull(appended.Upload.Tail);
        Assert.True(await ExistsAsync(backend.TailKey(upload.Id, appended.Upload.Tail.Sequence)));

        var cancelled = await coordinator.CancelAsync(TargetName, upload.Id, Ct);

        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        await AssertNoStagingAsync(backend, appended.Upload);
        await AssertMultipartGoneAsync(appended.Upload);
        Assert.False(await ExistsAsync(appended.Upload.ObjectKey));
    }

    [Fact]
    public async Task Cancel_after_many_small_appends_deletes_tails_left_over_by_a_crashed_writer()
    {
        var (coordinator, backend) = NewEngine();
        var upload = await CreateAsync(coordinator, length: null);
        long offset = 0;
        for (var i = 0; i < 4; i++)
        {
            var result = await AppendAsync(coordinator, upload.Id, offset, Bytes(100_000, seed: 20 + i), complete: false);
            offset = result.Upload!.Offset;
        }

        var record = (await store.GetAsync(upload.Id, Ct))!;
        Assert.True(record.TailSequence >= 4, $"tail sequence {record.TailSequence}");

        // Tails a crashed writer left behind: an old sequence it never deleted and the next, never recorded one.
        await backend.Tails.WriteAsync(record.Id, 1, Bytes(10, seed: 30), Ct);
        await backend.Tails.WriteAsync(record.Id, record.TailSequence + 1, Bytes(10, seed: 31), Ct);

        var cancelled = await coordinator.CancelAsync(TargetName, upload.Id, Ct);

        Assert.Equal(UploadOutcome.Success, cancelled.Outcome);
        await AssertNoStagingAsync(backend, record); // sequences 1..TailSequence+1, deleted in one DeleteObjects call
        await AssertMultipartGoneAsync(record);
    }

    [Fact]
    public async Task Expiry_aborts_the_multipart_upload_and_deletes_every_staging_object()
    {
        var (coordinator, backend) = NewEngine(expiration: TimeSpan.FromMinutes(1));
        var upload = await CreateAsync(coordinator, length: null);
        var appended = await AppendAsync(coordinator, upload.Id, 0, Bytes(8 * MiB + 3000, seed: 5), complete: false);
        var tailKey = backend.TailKey(upload.Id, appended.Upload!.Tail!.Sequence);
        Assert.True(await ExistsAsync(tailKey));

        time.Advance(TimeSpan.FromMinutes(2));
        var cleaned = await coordinator.CleanupExpiredAsync(Ct);

        Assert.Equal(1, cleaned);
        Assert.Equal(UploadState.Expired, (await store.GetAsync(upload.Id, Ct))!.State);
        Assert.False(await ExistsAsync(tailKey));
        await AssertNoStagingAsync(backend, appended.Upload);
        await AssertMultipartGoneAsync(appended.Upload);
    }

    [Theory]
    [InlineData(S3Fault.FailBefore)] // 500s: the part never reached the store
    [InlineData(S3Fault.ResetAfter)] // the store took the part but the response was lost
    public async Task Failed_UploadPart_keeps_the_durable_offset_and_a_retry_completes_without_loss_or_duplication(S3Fault fault)
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes(13 * MiB + 4321, seed: 6);
        var upload = await CreateAsync(coordinator, length: source.Length);
        var first = await AppendAsync(coordinator, upload.Id, 0, source.AsMemory(0, 7 * MiB), complete: false);
        Assert.Equal(7 * MiB, first.Upload!.Offset);
        Assert.Empty(first.Upload.Parts); // all in the tail: 7 MiB < 8 MiB part size

        // This append fills part 1 (tail + new bytes): every UploadPart attempt fails, SDK retries included.
        faults.UploadPart = fault;
        await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(coordinator, upload.Id, 7 * MiB, source.AsMemory(7 * MiB, 3 * MiB), complete: false));
        Assert.True(faults.Injected >= 2, $"only {faults.Injected} injected faults: the SDK did not retry");
        faults.Reset();

        var durable = await store.GetAsync(upload.Id, Ct);
        Assert.Equal(7 * MiB, durable!.Offset);
        Assert.Empty(durable.Parts);
        Assert.Equal(7 * MiB, durable.Tail!.Size);

        var resumed = await AppendAsync(coordinator, upload.Id, durable.Offset, source.AsMemory((int)durable.Offset), complete: true);
        Assert.Equal(UploadState.Completed, resumed.Upload!.State);
        Assert.Equal(source.Length, resumed.Upload.Offset);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(resumed.Upload.ObjectKey));
        await AssertNoStagingAsync(backend, resumed.Upload);
    }

    [Fact]
    public async Task Slow_and_once_failing_UploadParts_are_retried_transparently()
    {
        var (coordinator, _) = NewEngine();
        var source = Bytes(17 * MiB + 5, seed: 7);
        var upload = await CreateAsync(coordinator, length: source.Length);

        faults.UploadPart = S3Fault.ResetAfter;
        faults.Remaining = 1;
        var result = await AppendAsync(coordinator, upload.Id, 0, source, complete: true);
        Assert.Equal(1, faults.Injected);

        faults.Reset();
        faults.Delay = TimeSpan.FromMilliseconds(300);
        faults.UploadPart = S3Fault.Delay;
        var slow = Bytes(6 * MiB, seed: 8);
        var upload2 = await CreateAsync(coordinator, length: slow.Length);
        var result2 = await AppendAsync(coordinator, upload2.Id, 0, slow, complete: true);

        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(result.Upload.ObjectKey));
        Assert.Equal(3, result.Upload.Parts.Count);
        Assert.Equal(Sha256Hex(slow), await ObjectSha256Async(result2.Upload!.ObjectKey));
    }

    [Fact]
    public async Task One_MiB_appends_write_only_their_own_segment_until_a_part_forms()
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes((9 * MiB) + 7, seed: 22);
        var upload = await CreateAsync(coordinator, length: source.Length);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(UploadOutcome.Success, (await AppendAsync(coordinator, upload.Id, i * MiB, source.AsMemory(i * MiB, MiB), complete: false)).Outcome);
        }

        var segmented = (await store.GetAsync(upload.Id, Ct))!;
        Assert.Equal([1, 2, 3], segmented.Tail!.Objects.Select(o => o.Sequence));
        foreach (var segment in segmented.Tail.Objects)
        {
            var head = await inspector.GetObjectMetadataAsync(endpoint.Bucket, backend.TailKey(upload.Id, segment.Sequence), Ct);
            Assert.Equal(MiB, head.ContentLength); // each append stored only its own MiB
        }

        for (var i = 3; i < 9; i++)
        {
            await AppendAsync(coordinator, upload.Id, i * MiB, source.AsMemory(i * MiB, MiB), complete: false);
        }

        var joined = (await store.GetAsync(upload.Id, Ct))!;
        Assert.Equal([8L * MiB], joined.Parts.Select(p => p.Size));
        // Appends 1-7 made tail objects 1-7 (one each), append 8 filled the part, append 9 began tail 8.
        Assert.Equal([8], joined.Tail!.Objects.Select(o => o.Sequence));
        for (var sequence = 1; sequence <= 7; sequence++)
        {
            Assert.False(await ExistsAsync(backend.TailKey(upload.Id, sequence)), $"segment {sequence} left behind");
        }

        var done = await AppendAsync(coordinator, upload.Id, 9 * MiB, source.AsMemory(9 * MiB), complete: true);
        Assert.Equal(UploadState.Completed, done.Upload!.State);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(done.Upload.ObjectKey));
        await AssertNoStagingAsync(backend, done.Upload);
    }

    [Fact]
    public async Task Parts_of_one_append_upload_side_by_side_and_a_failed_part_keeps_only_the_parts_before_it()
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes((32 * MiB) + 1000, seed: 23);
        var upload = await CreateAsync(coordinator, length: source.Length);
        faults.Observe = async request =>
        {
            var part = System.Text.RegularExpressions.Regex.Match(request.RequestUri?.Query ?? "", @"partNumber=(\d+)");
            if (request.Method != HttpMethod.Put || !part.Success)
            {
                return;
            }

            if (part.Groups[1].Value == "1")
            {
                await Task.Delay(500); // part 2 finishes first, and must wait for part 1 to be recorded
            }
            else if (part.Groups[1].Value == "3")
            {
                throw new HttpRequestException("injected: part 3 never reaches S3"); // every SDK retry too
            }
        };

        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(coordinator, upload.Id, 0, source, complete: true));
        }
        finally
        {
            faults.Observe = null;
        }

        // Parts 1 and 2 are kept; part 3 failed, and part 4 (written beside it) is not recorded after a gap.
        var kept = (await store.GetAsync(upload.Id, Ct))!;
        Assert.Equal([1, 2], kept.Parts.Select(p => p.Number));
        Assert.Equal(16 * MiB, kept.Offset);
        Assert.Null(kept.Tail);
        Assert.Null(kept.LeaseOwner);

        var done = await AppendAsync(coordinator, upload.Id, 16 * MiB, source.AsMemory(16 * MiB), complete: true);
        Assert.Equal(UploadState.Completed, done.Upload!.State);
        Assert.Equal(5, done.Upload.Parts.Count);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(done.Upload.ObjectKey));
        await AssertNoStagingAsync(backend, done.Upload);
    }

    [Fact]
    public async Task CompleteMultipartUpload_whose_response_is_lost_is_finished_idempotently()
    {
        var (coordinator, backend) = NewEngine();
        var source = Bytes(11 * MiB + 99, seed: 9);
        var upload = await CreateAsync(coordinator, length: source.Length);

        // S3 commits the object, the client never hears about it (every attempt: the first commits, the
        // retries find NoSuchUpload and the backend confirms the object by its length).
        faults.Complete = S3Fault.ResetAfter;
        faults.Remaining = 1;
        var result = await AppendAsync(coordinator, upload.Id, 0, source, complete: true);
        Assert.Equal(1, faults.Injected);
        Assert.Equal(UploadState.Completed, result.Upload!.State);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(result.Upload.ObjectKey));

        // And when even the retries fail, the record stays Completing and the next request finishes it.
        var upload2 = await CreateAsync(coordinator, length: source.Length);
        faults.Reset();
        faults.Complete = S3Fault.ResetAfter;
        await Assert.ThrowsAnyAsync<Exception>(() => AppendAsync(coordinator, upload2.Id, 0, source, complete: true));
        faults.Reset();
        var pending = await store.GetAsync(upload2.Id, Ct);
        Assert.Equal(UploadState.Completing, pending!.State);
        Assert.Equal(source.Length, pending.Offset);

        var queried = await coordinator.GetAsync(TargetName, upload2.Id, Ct);
        Assert.Equal(UploadState.Completed, queried.Upload!.State);
        Assert.Equal(source.Length, queried.Upload.StoredObject!.Length);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(queried.Upload.ObjectKey));
        await AssertNoStagingAsync(backend, queried.Upload);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // fauxqs keeps objects in memory: drop what this test stored once it has been checked.
        foreach (var key in objectsRead)
        {
            await inspector.DeleteObjectAsync(endpoint.Bucket, key);
        }

        foreach (var backend in backends)
        {
            backend.Dispose();
        }

        inspector.Dispose();
        timeout.Dispose();
    }

    // ---- helpers ----

    private (UploadCoordinator Coordinator, S3Backend Backend) NewEngine(
        TimeSpan? expiration = null, int? maxParts = null, int? partSize = null, string? stagingDirectory = null)
    {
        var options = endpoint.Options($"engine/{Guid.NewGuid():N}/") with { MaxParts = maxParts ?? S3BackendOptions.DefaultMaxParts };
        var backend = new S3Backend(S3BackendFactory.CreateClient(options, faults), options);
        backends.Add(backend);
        var target = new UploadTarget(TargetName, backend, new UploadTargetOptions
        {
            Backend = "S3",
            Prefix = options.Prefix,
            PartSize = partSize,
            Expiration = expiration ?? TimeSpan.FromDays(1),
        }, stagingDirectory is null ? null : new FileSystem.LocalTailStore(stagingDirectory));
        var coordinator = new UploadCoordinator(
            new UploadTargetRegistry([target]),
            store,
            new StorageBridgeEngineOptions { InstanceId = "node-a", LeaseDuration = TimeSpan.FromSeconds(30), TakeoverWait = TimeSpan.FromSeconds(5) },
            time,
            NullLogger<UploadCoordinator>.Instance);
        return (coordinator, backend);
    }

    private async Task<UploadRecord> CreateAsync(UploadCoordinator coordinator, long? length)
    {
        var created = await coordinator.CreateAsync(new CreateUploadRequest { Target = TargetName, Length = length, ContentType = "application/x-test" }, Ct);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        Assert.False(string.IsNullOrEmpty(created.Upload!.Session)); // the S3 UploadId
        return created.Upload;
    }

    private Task<AppendResult> AppendAsync(UploadCoordinator coordinator, string id, long offset, ReadOnlyMemory<byte> data, bool complete)
    {
        var body = new MemoryStream(data.ToArray(), writable: false);
        return coordinator.AppendAsync(
            new AppendRequest { Target = TargetName, Id = id, Offset = offset, Complete = complete, ContentLength = data.Length },
            body,
            Ct);
    }

    private async Task<string> ObjectSha256Async(string key)
    {
        objectsRead.Add(key);
        using var response = await inspector.GetObjectAsync(endpoint.Bucket, key, Ct);
        using var sha = SHA256.Create();
        return Convert.ToHexStringLower(await sha.ComputeHashAsync(response.ResponseStream, Ct));
    }

    private async Task<bool> ExistsAsync(string key)
    {
        try
        {
            await inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>No tail object of any sequence the upload could have used is left in the bucket.</summary>
    private async Task AssertNoStagingAsync(S3Backend backend, UploadRecord upload)
    {
        for (var sequence = 1; sequence <= upload.TailSequence + 1; sequence++)
        {
            Assert.False(await ExistsAsync(backend.TailKey(upload.Id, sequence)), $"tail {sequence} of {upload.Id} is still in the bucket");
        }
    }

    /// <summary>The multipart upload is gone: completing it with its recorded parts fails with NoSuchUpload.</summary>
    private async Task AssertMultipartGoneAsync(UploadRecord upload)
    {
        var ex = await Assert.ThrowsAsync<AmazonS3Exception>(() => inspector.CompleteMultipartUploadAsync(
            new CompleteMultipartUploadRequest
            {
                BucketName = endpoint.Bucket,
                Key = upload.ObjectKey,
                UploadId = upload.Session,
                PartETags = [.. upload.Parts.Select(p => new PartETag { PartNumber = p.Number, ETag = p.ETag })],
            },
            Ct));
        Assert.Equal("NoSuchUpload", ex.ErrorCode);
    }

    private static byte[] Bytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
