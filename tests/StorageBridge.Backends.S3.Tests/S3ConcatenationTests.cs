using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Tests;
using StorageBridge.Uploads;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// tus concatenation on S3 (<see cref="IConcatenatingBackend"/>): the final object equals the partial objects joined in
/// order (sha-256, read with a separate client), through the backend directly, through raw tus requests and through
/// tus-js-client's parallelUploads. fauxqs 1.9.2 has no UploadPartCopy (it answers 500 InternalError), so on the emulator the targets stream (UploadPartCopy: false) and the copy path is checked to
/// refuse cleanly; with STORAGEBRIDGE_S3_SERVICEURL (MinIO, AWS) the copy path itself runs.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3ConcatenationTests(S3Endpoint endpoint) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly AmazonS3Client inspector = endpoint.CreateClient();
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(3));
    private readonly List<string> keys = [];

    private CancellationToken Ct => timeout.Token;

    [Theory]
    [InlineData(new[] { 3 * MiB, 7 * MiB, 1 })]           // a non-final source below 5 MiB: streamed
    [InlineData(new[] { 10, 20, 30 })]                     // small partials
    [InlineData(new[] { 9 * MiB, 0, 2 * MiB + 17 })]       // an empty one in the middle
    public async Task Streaming_concatenation_joins_the_sources_in_order(int[] sizes)
    {
        using var backend = new S3Backend(endpoint.CreateClient(), endpoint.Options("concat-stream/") with { UploadPartCopy = false });
        var (sourceKeys, expected) = await PutSourcesAsync(backend, sizes);
        var upload = NewRecord(backend, "video/mp4", sizes.Sum());

        var stored = await backend.ConcatenateAsync(upload, sourceKeys, Ct);

        Assert.Equal(upload.ObjectKey, stored.Key);
        Assert.Equal(expected.Length, stored.Length);
        Assert.Equal(Sha256Hex(expected), await ObjectSha256Async(upload.ObjectKey));
        var head = await inspector.GetObjectMetadataAsync(endpoint.Bucket, upload.ObjectKey, Ct);
        Assert.Equal("video/mp4", head.Headers.ContentType);
        foreach (var key in sourceKeys)
        {
            Assert.Equal(200, (int)(await inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct)).HttpStatusCode); // sources stay
        }
    }

    [Fact]
    public async Task Sources_of_at_least_5_MiB_are_joined_by_UploadPartCopy_where_the_store_has_it()
    {
        using var backend = new S3Backend(endpoint.CreateClient(), endpoint.Options("concat-copy/"));
        int[] sizes = [5 * MiB, 6 * MiB + 3, 1000];
        var (sourceKeys, expected) = await PutSourcesAsync(backend, sizes);
        var upload = NewRecord(backend, null, sizes.Sum());
        Assert.NotNull(backend.CopyRanges([.. sizes.Select(s => (long)s)]));

        if (!endpoint.IsExternal)
        {
            // fauxqs 1.9.2 has no UploadPartCopy (it answers 500): the concatenation fails and leaves no object behind.
            await Assert.ThrowsAsync<AmazonS3Exception>(() => backend.ConcatenateAsync(upload, sourceKeys, Ct));
            var error = await Assert.ThrowsAsync<AmazonS3Exception>(() => inspector.GetObjectMetadataAsync(endpoint.Bucket, upload.ObjectKey, Ct));
            Assert.Equal(HttpStatusCode.NotFound, error.StatusCode);
            return;
        }

        var stored = await backend.ConcatenateAsync(upload, sourceKeys, Ct);

        Assert.Equal(expected.Length, stored.Length);
        Assert.EndsWith("-3", stored.ETag, StringComparison.Ordinal); // one part per source, copied by S3
        Assert.Equal(Sha256Hex(expected), await ObjectSha256Async(upload.ObjectKey));
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
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(key));
        var metadata = await inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct);
        Assert.Equal("application/zip", metadata.Headers.ContentType);
    }

    [Theory(Timeout = 180_000)]
    [InlineData(3, 5 * MiB + 3)]   // partials below 5 MiB: always streamed
    [InlineData(3, 20 * MiB + 11)] // partials above 5 MiB: UploadPartCopy on a store that has it
    public async Task Tus_js_client_parallel_uploads_are_joined_into_the_source(int parallel, long size)
    {
        var server = await endpoint.ServerAsync();
        var folder = Directory.CreateTempSubdirectory("sb-s3-concat-").FullName;
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
            Assert.Equal(sha, await ObjectSha256Async(endpoint.RunPrefix + "web/" + IdOf(new Uri(url))));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // fauxqs keeps objects in memory: drop what this class stored.
        foreach (var key in keys)
        {
            await inspector.DeleteObjectAsync(endpoint.Bucket, key);
        }

        inspector.Dispose();
        timeout.Dispose();
    }

    private async Task<(List<string> Keys, byte[] Joined)> PutSourcesAsync(S3Backend backend, int[] sizes)
    {
        var sourceKeys = new List<string>();
        using var joined = new MemoryStream();
        for (var i = 0; i < sizes.Length; i++)
        {
            var bytes = new byte[sizes[i]];
            new Random((i * 7919) + sizes[i]).NextBytes(bytes);
            var key = backend.Options.Prefix + $"source-{Guid.NewGuid():N}";
            await inspector.PutObjectAsync(new PutObjectRequest { BucketName = endpoint.Bucket, Key = key, InputStream = new MemoryStream(bytes) }, Ct);
            keys.Add(key);
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

    private async Task<string> ObjectSha256Async(string key)
    {
        keys.Add(key);
        using var response = await inspector.GetObjectAsync(endpoint.Bucket, key, Ct);
        using var sha = SHA256.Create();
        return Convert.ToHexStringLower(await sha.ComputeHashAsync(response.ResponseStream, Ct));
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));
}
