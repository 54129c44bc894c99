using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Tests;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// tus concatenation on S3 (<see cref="IObjectConcatenation"/>): the final object equals the partial objects joined in
/// order (sha-256, read with a separate client), through the backend directly, through raw tus requests and through
/// tus-js-client's parallelUploads. The streaming path runs on fauxqs 1.9.2 (<see cref="S3Endpoint"/>, UploadPartCopy:
/// false: it answers 500 to UploadPartCopy); the UploadPartCopy path on fauxqs 2.4.1 (<see cref="S3CopyEndpoint"/>,
/// started only when a test here needs it), its requests counted in the SDK's HTTP pipeline. With
/// STORAGEBRIDGE_S3_SERVICEURL (MinIO, AWS) both run there.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3ConcatenationTests(S3Endpoint endpoint, S3CopyEndpoint copyEndpoint) : IAsyncLifetime, IClassFixture<S3CopyEndpoint>
{
    private const int MiB = 1024 * 1024;
    private readonly Store streaming = new(endpoint, endpoint.CreateClient());
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(3));
    private readonly List<(Store Store, string Key)> keys = [];
    private Store? copying;

    private CancellationToken Ct => timeout.Token;

    [Theory]
    [InlineData(new[] { 3 * MiB, 7 * MiB, 1 })]           // a non-final source below 5 MiB: streamed
    [InlineData(new[] { 10, 20, 30 })]                     // small partials
    [InlineData(new[] { 9 * MiB, 0, 2 * MiB + 17 })]       // an empty one in the middle
    public async Task Streaming_concatenation_joins_the_sources_in_order(int[] sizes)
    {
        using var backend = new S3Backend(endpoint.CreateClient(), endpoint.Options("concat-stream/") with { UploadPartCopy = false });
        var (sourceKeys, expected) = await PutSourcesAsync(streaming, backend, sizes);
        var upload = NewRecord(backend, "video/mp4", sizes.Sum());

        var stored = await backend.ConcatenateAsync(BackendUpload.From(upload), sourceKeys, Ct);

        Assert.Equal(upload.ObjectKey, stored.Key);
        Assert.Equal(expected.Length, stored.Length);
        Assert.Equal(Sha256Hex(expected), await ObjectSha256Async(streaming, upload.ObjectKey));
        var head = await streaming.Inspector.GetObjectMetadataAsync(endpoint.Bucket, upload.ObjectKey, Ct);
        Assert.Equal("video/mp4", head.Headers.ContentType);
        foreach (var key in sourceKeys)
        {
            Assert.Equal(200, (int)(await streaming.Inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct)).HttpStatusCode); // sources stay
        }
    }

    [Theory]
    [InlineData(new[] { (6 * MiB) + 3, 5 * MiB, 1000 })] // above the 5 MiB minimum, exactly at it, a small last one
    [InlineData(new[] { 5 * MiB, (2 * MiB) + 17 })]
    public async Task Sources_of_at_least_5_MiB_are_copied_in_as_one_part_each_by_UploadPartCopy(int[] sizes)
    {
        var store = await CopyStoreAsync();
        var log = new S3RequestLog();
        using var backend = new S3Backend(store.Endpoint.CreateClient(log.Attach(new S3FaultInjector())), store.Endpoint.Options("concat-copy/"));
        var (sourceKeys, expected) = await PutSourcesAsync(store, backend, sizes);
        var upload = NewRecord(backend, "video/mp4", sizes.Sum());

        var stored = await backend.ConcatenateAsync(BackendUpload.From(upload), sourceKeys, Ct);

        Assert.Equal(expected.Length, stored.Length);
        Assert.EndsWith($"-{sizes.Length}", stored.ETag, StringComparison.Ordinal); // one part per source
        Assert.Equal(Sha256Hex(expected), await ObjectSha256Async(store, upload.ObjectKey));
        // The store copied the bytes (no UploadPart); the small last source copies only without a range (S3 refuses one
        // on sources of 5 MB or less, and so does fauxqs 2.4.1).
        Assert.Equal(
            [.. Enumerable.Repeat(("HeadObject", 200), sizes.Length), ("CreateMultipartUpload", 200),
                .. Enumerable.Repeat(("UploadPartCopy", 200), sizes.Length), ("CompleteMultipartUpload", 200)],
            log.Entries);
        long offset = 0;
        for (var i = 0; i < sizes.Length; i++)
        {
            // Part i+1 of the final object is exactly source i.
            using var part = await store.Inspector.GetObjectAsync(new GetObjectRequest { BucketName = store.Endpoint.Bucket, Key = upload.ObjectKey, PartNumber = i + 1 }, Ct);
            Assert.Equal(sizes[i], part.ContentLength);
            Assert.Equal(sizes.Length, part.PartsCount);
            Assert.Equal(Sha256Hex(expected.AsSpan((int)offset, sizes[i]).ToArray()), Convert.ToHexStringLower(await SHA256.HashDataAsync(part.ResponseStream, Ct)));
            offset += sizes[i];
        }

        var head = await store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, upload.ObjectKey, Ct);
        Assert.Equal("video/mp4", head.Headers.ContentType);
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.Equal(sizes[i], (await store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, sourceKeys[i], Ct)).ContentLength); // sources stay
        }
    }

    [Fact]
    public async Task A_source_deleted_during_UploadPartCopy_fails_cleanly_and_aborts_the_new_multipart_upload()
    {
        var store = await CopyStoreAsync();
        var log = new S3RequestLog();
        using var backend = new S3Backend(store.Endpoint.CreateClient(log.Attach(new S3FaultInjector())), store.Endpoint.Options("concat-copy-fail/"));
        int[] sizes = [(5 * MiB) + 1, (5 * MiB) + 2, 4000];
        var (sourceKeys, _) = await PutSourcesAsync(store, backend, sizes);
        var upload = NewRecord(backend, null, sizes.Sum());
        // After the sources were checked and the first part copied, another client deletes the second source.
        log.After = async (operation, status) =>
        {
            if (operation == "UploadPartCopy" && status == 200 && log.Count("UploadPartCopy") == 1)
            {
                await store.Inspector.DeleteObjectAsync(store.Endpoint.Bucket, sourceKeys[1], Ct);
            }
        };

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => backend.ConcatenateAsync(BackendUpload.From(upload), sourceKeys, Ct));

        Assert.Equal(sourceKeys[1], error.FileName);
        Assert.Equal("NoSuchKey", Assert.IsType<AmazonS3Exception>(error.InnerException).ErrorCode);
        Assert.Equal(
            [("HeadObject", 200), ("HeadObject", 200), ("HeadObject", 200), ("CreateMultipartUpload", 200),
                ("UploadPartCopy", 200), ("UploadPartCopy", 404), ("AbortMultipartUpload", 204)],
            log.Entries.Take(7));
        Assert.Equal(0, log.Count("CompleteMultipartUpload"));
        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, upload.ObjectKey, Ct));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // The multipart upload is gone (ListMultipartUploads would tell, but fauxqs answers it with an empty list).
        var aborted = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.Inspector.CopyPartAsync(
            new CopyPartRequest
            {
                SourceBucket = store.Endpoint.Bucket,
                SourceKey = sourceKeys[0],
                DestinationBucket = store.Endpoint.Bucket,
                DestinationKey = upload.ObjectKey,
                UploadId = log.UploadId,
                PartNumber = 1,
            },
            Ct));
        Assert.Equal(HttpStatusCode.NotFound, aborted.StatusCode);
        Assert.Equal("NoSuchUpload", aborted.ErrorCode);
        Assert.Equal(sizes[0], (await store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, sourceKeys[0], Ct)).ContentLength); // the others stay
        Assert.Equal(sizes[2], (await store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, sourceKeys[2], Ct)).ContentLength);
    }

    [Fact]
    public async Task A_missing_source_fails_before_any_multipart_upload_is_started()
    {
        var store = await CopyStoreAsync();
        var log = new S3RequestLog();
        using var backend = new S3Backend(store.Endpoint.CreateClient(log.Attach(new S3FaultInjector())), store.Endpoint.Options("concat-copy-missing/"));
        var (sourceKeys, _) = await PutSourcesAsync(store, backend, [5 * MiB]);
        var absent = backend.Options.Prefix + "never-written";
        var upload = NewRecord(backend, null, 5 * MiB);

        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => backend.ConcatenateAsync(BackendUpload.From(upload), [sourceKeys[0], absent], Ct));

        Assert.Equal(absent, error.FileName);
        Assert.Equal([("HeadObject", 200), ("HeadObject", 404)], log.Entries);
        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, upload.ObjectKey, Ct));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task On_a_store_without_UploadPartCopy_the_copy_path_fails_and_leaves_no_object()
    {
        if (endpoint.HasUploadPartCopy)
        {
            return; // only fauxqs 1.9.2 lacks it (why its targets stream); MinIO and AWS have it
        }

        var log = new S3RequestLog();
        using var backend = new S3Backend(endpoint.CreateClient(log.Attach(new S3FaultInjector())), endpoint.Options("concat-nocopy/"));
        int[] sizes = [5 * MiB, 1000];
        var (sourceKeys, _) = await PutSourcesAsync(streaming, backend, sizes);
        var upload = NewRecord(backend, null, sizes.Sum());

        var error = await Assert.ThrowsAsync<StorageBackendException>(() => backend.ConcatenateAsync(BackendUpload.From(upload), sourceKeys, Ct));

        Assert.Equal(HttpStatusCode.InternalServerError, Assert.IsType<AmazonS3Exception>(error.InnerException).StatusCode);
        Assert.Equal(500, error.StatusCode);
        Assert.Equal(0, log.Count("CompleteMultipartUpload"));
        Assert.Equal(1, log.Count("AbortMultipartUpload"));
        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => streaming.Inspector.GetObjectMetadataAsync(endpoint.Bucket, upload.ObjectKey, Ct));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public void UploadPartCopy_is_planned_only_when_every_non_final_source_is_a_valid_part()
    {
        using var backend = new S3Backend(endpoint.CreateClient(), endpoint.Options("plan/") with { MaxParts = 4 });
        const long Mi = MiB;

        Assert.Equal([(0, 0L, 5 * Mi), (1, 0L, 1L)], backend.CopyRanges([5 * Mi, 1]));
        Assert.Equal([(0, 0L, 5 * Mi)], backend.CopyRanges([5 * Mi, 0])); // an empty final source adds nothing
        Assert.Null(backend.CopyRanges([5 * Mi - 1, 5 * Mi]));             // non-final below the minimum: stream
        Assert.Null(backend.CopyRanges([5 * Mi, 0, 5 * Mi]));
        Assert.Null(backend.CopyRanges([5 * Mi, 5 * Mi, 5 * Mi, 5 * Mi, 1])); // five parts exceed MaxParts 4
        // Above S3's 5 GiB part limit a source is copied in equal ranges.
        Assert.Equal([(0, 0L, 3 * 1024 * Mi), (0, 3 * 1024 * Mi, 3 * 1024 * Mi), (1, 0L, 7L)], backend.CopyRanges([6 * 1024 * Mi, 7]));
    }

    [Fact]
    public async Task Raw_tus_partial_uploads_joined_by_a_final_upload_equal_the_source()
    {
        var server = await endpoint.ServerAsync();
        var source = new byte[(6 * MiB) + 4321];
        new Random(404).NextBytes(source);
        var cuts = new[] { 0, (2 * MiB) + 5, 6 * MiB, source.Length };
        var partials = new List<string>();
        for (var i = 0; i < cuts.Length - 1; i++)
        {
            using var create = Tus(HttpMethod.Post, "uploads/web", source.AsMemory(cuts[i], cuts[i + 1] - cuts[i]).ToArray());
            create.Headers.Add("Upload-Concat", "partial");
            create.Headers.Add("Upload-Length", (cuts[i + 1] - cuts[i]).ToString(CultureInfo.InvariantCulture));
            using var created = await server.Client.SendAsync(create, Ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal((cuts[i + 1] - cuts[i]).ToString(CultureInfo.InvariantCulture), created.Headers.GetValues("Upload-Offset").Single());
            var partial = created.Headers.Location!;
            partials.Add(partial.IsAbsoluteUri ? partial.AbsolutePath : partial.OriginalString);
        }

        using var final = Tus(HttpMethod.Post, "uploads/web", null);
        final.Headers.Add("Upload-Concat", "final;" + string.Join(' ', partials));
        final.Headers.Add("Upload-Metadata", "filetype " + Convert.ToBase64String("application/zip"u8));
        using var joined = await server.Client.SendAsync(final, Ct);
        Assert.Equal(HttpStatusCode.Created, joined.StatusCode);
        var location = joined.Headers.Location!;

        using var head = Tus(HttpMethod.Head, location.ToString(), null);
        using var headResponse = await server.Client.SendAsync(head, Ct);
        Assert.Equal(HttpStatusCode.OK, headResponse.StatusCode);
        Assert.Equal(source.Length.ToString(CultureInfo.InvariantCulture), headResponse.Headers.GetValues("Upload-Offset").Single());
        Assert.StartsWith("final;", headResponse.Headers.GetValues("Upload-Concat").Single(), StringComparison.Ordinal);

        using var patch = Tus(HttpMethod.Patch, location.ToString(), [1, 2, 3]);
        patch.Headers.Add("Upload-Offset", source.Length.ToString(CultureInfo.InvariantCulture));
        using var refused = await server.Client.SendAsync(patch, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        var key = endpoint.RunPrefix + "web/" + IdOf(location);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(streaming, key));
        var metadata = await streaming.Inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct);
        Assert.Equal("application/zip", metadata.Headers.ContentType);
    }

    [Theory(Timeout = 180_000)]
    [InlineData(3, 5 * MiB + 3, false)]   // partials below 5 MiB: always streamed
    [InlineData(3, 20 * MiB + 11, false)] // partials above 5 MiB on fauxqs 1.9.2: streamed (UploadPartCopy: false)
    [InlineData(3, 20 * MiB + 11, true)]  // the same on fauxqs 2.4.1: UploadPartCopy
    public async Task Tus_js_client_parallel_uploads_are_joined_into_the_source(int parallel, long size, bool copyStore)
    {
        var store = copyStore ? await CopyStoreAsync() : streaming;
        var server = await store.Endpoint.ServerAsync();
        var folder = Directory.CreateTempSubdirectory("sb-s3-concat-").FullName;
        var log = new S3RequestLog();
        log.Attach(server.Faults);
        try
        {
            var path = Path.Combine(folder, "source.bin");
            var sha = await DeterministicData.WriteFileAsync(path, 0xC0CA7UL + (ulong)size, size, Ct);

            var result = await ChildProcess.RunAsync(
                "node",
                [Path.Combine(RepositoryLayout.ClientsDirectory, "tus-upload.mjs"), new Uri(server.BaseAddress, "uploads/web").ToString(), path, "tus-v1", "none",
                    "--input", "buffer", "--parallel-uploads", parallel.ToString(CultureInfo.InvariantCulture)],
                RepositoryLayout.ClientsDirectory,
                TimeSpan.FromMinutes(2),
                Ct);
            Assert.True(result.ExitCode == 0, result.ToString());

            var url = System.Text.Json.JsonDocument.Parse(result.StandardOutput.Trim().Split('\n')[^1]).RootElement.GetProperty("url").GetString()!;
            var key = store.Endpoint.RunPrefix + "web/" + IdOf(new Uri(url));
            Assert.Equal(sha, await ObjectSha256Async(store, key));
            var copied = store.Endpoint.HasUploadPartCopy && size / parallel >= 5 * MiB;
            Assert.Equal(copied ? parallel : 0, log.Count("UploadPartCopy"));
            Assert.DoesNotContain(log.Entries, e => e.Status >= 400);
            if (copied)
            {
                var head = await store.Inspector.GetObjectMetadataAsync(store.Endpoint.Bucket, key, Ct);
                Assert.EndsWith($"-{parallel}\"", head.ETag, StringComparison.Ordinal); // one part per partial upload
            }
        }
        finally
        {
            server.Faults.Answered = null;
            Directory.Delete(folder, recursive: true);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // fauxqs keeps objects in memory (and an external bucket is shared): drop what this class stored.
        foreach (var (store, key) in keys)
        {
            await store.Inspector.DeleteObjectAsync(store.Endpoint.Bucket, key);
        }

        streaming.Inspector.Dispose();
        copying?.Inspector.Dispose();
        timeout.Dispose();
    }

    /// <summary>The UploadPartCopy store (fauxqs 2.4.1, started on first use) and an inspecting client on it.</summary>
    private async Task<Store> CopyStoreAsync()
    {
        var copyStore = await copyEndpoint.EndpointAsync();
        return copying ??= new Store(copyStore, copyStore.CreateClient());
    }

    private async Task<(List<string> Keys, byte[] Joined)> PutSourcesAsync(Store store, S3Backend backend, int[] sizes)
    {
        var sourceKeys = new List<string>();
        using var joined = new MemoryStream();
        for (var i = 0; i < sizes.Length; i++)
        {
            var bytes = new byte[sizes[i]];
            new Random((i * 7919) + sizes[i]).NextBytes(bytes);
            var key = backend.Options.Prefix + $"source-{Guid.NewGuid():N}";
            await store.Inspector.PutObjectAsync(new PutObjectRequest { BucketName = store.Endpoint.Bucket, Key = key, InputStream = new MemoryStream(bytes) }, Ct);
            keys.Add((store, key));
            sourceKeys.Add(key);
            joined.Write(bytes);
        }

        return (sourceKeys, joined.ToArray());
    }

    private static UploadRecord NewRecord(S3Backend backend, string? contentType, long length)
    {
        var id = UploadIds.New();
        return new UploadRecord { Id = id, Target = "t", ObjectKey = backend.Options.Prefix + "final-" + id, ContentType = contentType, Length = length, Offset = length };
    }

    private static HttpRequestMessage Tus(HttpMethod method, string url, byte[]? body)
    {
        var request = new HttpRequestMessage(method, url);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/offset+octet-stream");
        }

        return request;
    }

    private static string IdOf(Uri location) => location.OriginalString.TrimEnd('/').Split('/')[^1];

    private async Task<string> ObjectSha256Async(Store store, string key)
    {
        keys.Add((store, key));
        using var response = await store.Inspector.GetObjectAsync(store.Endpoint.Bucket, key, Ct);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(response.ResponseStream, Ct));
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>An S3 endpoint and a plain client that looks into its bucket independently of the backend.</summary>
    private sealed record Store(S3Endpoint Endpoint, AmazonS3Client Inspector);
}
