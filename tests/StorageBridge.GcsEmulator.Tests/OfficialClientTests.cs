using System.Net;
using System.Net.Http.Headers;
using Google;
using Google.Apis.Upload;
using Google.Cloud.Storage.V1;
using static StorageBridge.GcsEmulator.Tests.TestData;
using GcsObject = Google.Apis.Storage.v1.Data.Object;

namespace StorageBridge.GcsEmulator.Tests;

/// <summary>The emulator driven by the official Google.Cloud.Storage.V1 client and its resumable uploader.</summary>
[Collection(GcsEmulatorCollection.Name)]
public sealed class OfficialClientTests(GcsEmulatorFixture emulator)
{
    public static TheoryData<int, int> Uploads()
    {
        var data = new TheoryData<int, int>();
        foreach (int size in new[] { 0, 1, Quantum, Quantum + 1, (3 * 1024 * 1024) + 17 })
        {
            foreach (int chunk in new[] { Quantum, 2 * Quantum, 4 * Quantum })
            {
                data.Add(size, chunk);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Uploads))]
    public async Task UploadObject_in_chunks_round_trips_with_Googles_hashes(int size, int chunkSize)
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes(size);
        var sent = new List<long>();
        var options = new UploadObjectOptions { ChunkSize = chunkSize };

        GcsObject uploaded = await emulator.Client.UploadObjectAsync(
            bucket, "dir/file name+1.bin", "application/x-test", new MemoryStream(payload), options,
            progress: new SyncProgress(p =>
            {
                if (p.Status == UploadStatus.Uploading)
                {
                    sent.Add(p.BytesSent);
                }
            }));

        Assert.Equal((ulong)size, uploaded.Size);
        Assert.Equal(Md5Base64(payload), uploaded.Md5Hash);
        Assert.Equal(Crc32CBase64(payload), uploaded.Crc32c);
        Assert.Equal("application/x-test", uploaded.ContentType);
        Assert.Equal("dir/file name+1.bin", uploaded.Name);
        Assert.Equal(bucket, uploaded.Bucket);
        Assert.True(uploaded.Generation > 0);
        Assert.Equal(1, uploaded.Metageneration);

        // Every non-final chunk the client sent was a full ChunkSize, so it made exactly this many requests.
        long[] expectedBoundaries = Enumerable.Range(1, Math.Max(0, (size - 1) / chunkSize)).Select(i => (long)i * chunkSize).ToArray();
        Assert.Equal(expectedBoundaries, sent.Distinct().ToArray());

        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(bucket, "dir/file name+1.bin", downloaded);
        Assert.Equal(Sha256(payload), Sha256(downloaded.ToArray()));

        GcsObject fetched = await emulator.Client.GetObjectAsync(bucket, "dir/file name+1.bin");
        Assert.Equal(uploaded.Generation, fetched.Generation);
        Assert.Equal(uploaded.Md5Hash, fetched.Md5Hash);
        Assert.Equal(uploaded.Crc32c, fetched.Crc32c);
    }

    [Fact]
    public async Task Interrupted_upload_resumes_from_the_persisted_offset()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes((3 * Quantum) + 1000);
        var options = new UploadObjectOptions { ChunkSize = Quantum };

        // The first attempt's stream fails after 600 KiB: two whole chunks reach the emulator, the third never completes.
        var failing = new FailingStream(payload, failAfter: 600 * 1024);
        var first = emulator.Client.CreateObjectUploader(bucket, "resumed.bin", "application/octet-stream", failing, options);
        Uri session = await first.InitiateSessionAsync();
        IUploadProgress failed = await first.ResumeAsync(session);
        Assert.Equal(UploadStatus.Failed, failed.Status);

        using (HttpResponseMessage status = await emulator.PutAsync(session, "bytes */*"))
        {
            Assert.Equal(308, (int)status.StatusCode);
            Assert.Equal("bytes=0-524287", string.Join(",", status.Headers.GetValues("Range")));
        }

        // A new uploader over the complete source: ResumeAsync queries the session and sends only the rest. The
        // client refuses to hash-validate from a non-zero offset, so validation is ours (asserted below).
        var resumeOptions = new UploadObjectOptions { ChunkSize = Quantum, UploadValidationMode = UploadValidationMode.None };
        var second = emulator.Client.CreateObjectUploader(bucket, "resumed.bin", "application/octet-stream", new MemoryStream(payload), resumeOptions);
        GcsObject? completed = null;
        second.ResponseReceived += o => completed = o;
        IUploadProgress done = await second.ResumeAsync(session);
        Assert.True(done.Status == UploadStatus.Completed, done.Exception?.ToString());
        Assert.NotNull(completed);
        Assert.Equal((ulong)payload.Length, completed.Size);
        Assert.Equal(Md5Base64(payload), completed.Md5Hash);
        Assert.Equal(Crc32CBase64(payload), completed.Crc32c);

        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(bucket, "resumed.bin", downloaded);
        Assert.Equal(Sha256(payload), Sha256(downloaded.ToArray()));
    }

    [Fact]
    public async Task Official_uploader_continues_a_session_started_by_raw_http()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes((2 * Quantum) + 5);
        Uri session = await emulator.InitiateAsync(bucket, "raw-then-client.bin");
        using (HttpResponseMessage chunk = await emulator.PutAsync(session, $"bytes 0-{Quantum - 1}/*", payload[..Quantum]))
        {
            Assert.Equal(308, (int)chunk.StatusCode);
        }

        var upload = ResumableUpload.CreateFromUploadUri(session, new MemoryStream(payload), new ResumableUploadOptions());
        upload.ChunkSize = Quantum;
        IUploadProgress progress = await upload.ResumeAsync(session);
        Assert.Equal(UploadStatus.Completed, progress.Status);

        GcsObject stored = await emulator.Client.GetObjectAsync(bucket, "raw-then-client.bin");
        Assert.Equal((ulong)payload.Length, stored.Size);
        Assert.Equal(Md5Base64(payload), stored.Md5Hash);
        Assert.Equal(Crc32CBase64(payload), stored.Crc32c);
    }

    [Fact]
    public async Task IfGenerationMatch_zero_on_an_existing_object_is_412_and_keeps_it()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] original = Bytes(1000);
        GcsObject first = await emulator.Client.UploadObjectAsync(bucket, "once", null, new MemoryStream(original),
            new UploadObjectOptions { IfGenerationMatch = 0 });

        var e = await Assert.ThrowsAsync<GoogleApiException>(() => emulator.Client.UploadObjectAsync(
            bucket, "once", null, new MemoryStream(Bytes(2000)), new UploadObjectOptions { IfGenerationMatch = 0 }));
        Assert.Equal(HttpStatusCode.PreconditionFailed, e.HttpStatusCode);

        // A matching generation replaces it; a stale one is refused.
        byte[] replacement = Bytes(3000);
        GcsObject second = await emulator.Client.UploadObjectAsync(bucket, "once", null, new MemoryStream(replacement),
            new UploadObjectOptions { IfGenerationMatch = first.Generation });
        Assert.True(second.Generation > first.Generation);
        var stale = await Assert.ThrowsAsync<GoogleApiException>(() => emulator.Client.DeleteObjectAsync(
            bucket, "once", new DeleteObjectOptions { IfGenerationMatch = first.Generation }));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.HttpStatusCode);

        var downloaded = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(bucket, "once", downloaded);
        Assert.Equal(Sha256(replacement), Sha256(downloaded.ToArray()));
    }

    [Fact]
    public async Task Range_download_returns_exact_bytes()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes(Quantum + 333);
        await emulator.Client.UploadObjectAsync(bucket, "ranged/o.bin", null, new MemoryStream(payload));

        // Like GCS, the emulator's X-Goog-Hash on a 206 describes the whole object, which the client's validator
        // would compare with the 90 bytes it received: a ranged read has to opt out of validation.
        var part = new MemoryStream();
        await emulator.Client.DownloadObjectAsync(bucket, "ranged/o.bin", part,
            new DownloadObjectOptions { Range = new RangeHeaderValue(10, 99), DownloadValidationMode = DownloadValidationMode.Never });
        Assert.Equal(Sha256(payload[10..100]), Sha256(part.ToArray()));

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.Root, "download/storage/v1/b/" + bucket + "/o/ranged%2Fo.bin?alt=media"));
        request.Headers.Range = new RangeHeaderValue(Quantum, null);
        using HttpResponseMessage response = await emulator.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {Quantum}-{payload.Length - 1}/{payload.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(333, response.Content.Headers.ContentLength);
        Assert.Equal(Sha256(payload[Quantum..]), Sha256(await response.Content.ReadAsByteArrayAsync()));
        Assert.Equal($"crc32c={Crc32CBase64(payload)},md5={Md5Base64(payload)}", string.Join(",", response.Headers.GetValues("X-Goog-Hash")));

        using var beyond = new HttpRequestMessage(HttpMethod.Get, new Uri(emulator.Root, "storage/v1/b/" + bucket + "/o/ranged%2Fo.bin?alt=media"));
        beyond.Headers.Range = new RangeHeaderValue(payload.Length, null);
        using HttpResponseMessage unsatisfiable = await emulator.Http.SendAsync(beyond);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.StatusCode);
    }

    [Fact]
    public async Task Get_list_and_delete_with_url_encoded_names()
    {
        string bucket = await emulator.NewBucketAsync();
        string[] names = ["a/b/c.txt", "a/b/d ü+%.txt", "a/z.txt", "b.txt"];
        foreach (string name in names)
        {
            await emulator.Client.UploadObjectAsync(bucket, name, "text/plain", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(name)));
        }

        string[] listed = emulator.Client.ListObjects(bucket, "a/b/").Select(o => o.Name).ToArray();
        Assert.Equal(["a/b/c.txt", "a/b/d ü+%.txt"], listed);

        GcsObject odd = await emulator.Client.GetObjectAsync(bucket, "a/b/d ü+%.txt");
        Assert.Equal((ulong)System.Text.Encoding.UTF8.GetByteCount("a/b/d ü+%.txt"), odd.Size);

        await emulator.Client.DeleteObjectAsync(bucket, "a/b/d ü+%.txt");
        var gone = await Assert.ThrowsAsync<GoogleApiException>(() => emulator.Client.GetObjectAsync(bucket, "a/b/d ü+%.txt"));
        Assert.Equal(HttpStatusCode.NotFound, gone.HttpStatusCode);
        Assert.Equal(["a/b/c.txt", "a/z.txt", "b.txt"], emulator.Client.ListObjects(bucket).Select(o => o.Name).ToArray());
    }

    [Fact]
    public async Task Object_metadata_from_the_client_round_trips()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes(Quantum * 2);
        var destination = new GcsObject
        {
            Bucket = bucket,
            Name = "with/metadata.bin",
            ContentType = "application/x-meta",
            CacheControl = "no-cache",
            Metadata = new Dictionary<string, string> { ["origin"] = "bridge", ["upload-id"] = "0123456789abcdef" },
        };

        GcsObject uploaded = await emulator.Client.UploadObjectAsync(destination, new MemoryStream(payload), new UploadObjectOptions { ChunkSize = Quantum });
        GcsObject fetched = await emulator.Client.GetObjectAsync(bucket, "with/metadata.bin");

        foreach (GcsObject o in new[] { uploaded, fetched })
        {
            Assert.Equal("application/x-meta", o.ContentType);
            Assert.Equal("no-cache", o.CacheControl);
            Assert.Equal(new Dictionary<string, string> { ["origin"] = "bridge", ["upload-id"] = "0123456789abcdef" }, o.Metadata);
            Assert.Equal((ulong)payload.Length, o.Size);
            Assert.Equal(Md5Base64(payload), o.Md5Hash);
            Assert.NotNull(o.TimeCreatedDateTimeOffset);
            Assert.Equal(o.TimeCreatedDateTimeOffset, o.UpdatedDateTimeOffset);
        }

        Assert.Equal(uploaded.Generation, fetched.Generation);
        Assert.Equal(uploaded.ETag, fetched.ETag);
    }

    [Fact]
    public async Task Buckets_are_created_and_fetched_and_missing_ones_are_404()
    {
        string bucket = await emulator.NewBucketAsync();
        var fetched = await emulator.Client.GetBucketAsync(bucket);
        Assert.Equal(bucket, fetched.Name);

        var conflict = await Assert.ThrowsAsync<GoogleApiException>(() => emulator.Client.CreateBucketAsync("test-project", bucket));
        Assert.Equal(HttpStatusCode.Conflict, conflict.HttpStatusCode);
        var missing = await Assert.ThrowsAsync<GoogleApiException>(() => emulator.Client.GetBucketAsync("no-such-bucket-" + Guid.NewGuid().ToString("N")[..8]));
        Assert.Equal(HttpStatusCode.NotFound, missing.HttpStatusCode);
    }

    /// <summary>Progress callback that runs inline (Progress&lt;T&gt; would post to the thread pool and race the asserts).</summary>
    private sealed class SyncProgress(Action<IUploadProgress> report) : IProgress<IUploadProgress>
    {
        public void Report(IUploadProgress value) => report(value);
    }

    /// <summary>A seekable source whose reads fail past a position, like a file on a disconnected share.</summary>
    private sealed class FailingStream(byte[] data, int failAfter) : MemoryStream(data, writable: false)
    {
        public override int Read(byte[] buffer, int offset, int count) =>
            Position >= failAfter ? throw new IOException("simulated source failure") : base.Read(buffer, offset, (int)Math.Min(count, failAfter - Position));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= failAfter)
            {
                throw new IOException("simulated source failure");
            }

            return base.ReadAsync(buffer[..(int)Math.Min(buffer.Length, failAfter - Position)], cancellationToken);
        }
    }
}
