using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.S3;
using StorageBridge.Tests;

namespace StorageBridge.Backends.S3.Tests;

/// <summary>
/// HTTP clients through a real Kestrel into S3 targets: the object in the bucket (read with a separate SDK client) must
/// equal the source by sha-256. Targets come from configuration only (Backend: S3), two of them in different buckets.
/// </summary>
[Collection(S3Collection.Name)]
public sealed class S3ProtocolTests(S3Endpoint endpoint) : IAsyncLifetime
{
    private const int MiB = 1024 * 1024;
    private readonly AmazonS3Client inspector = endpoint.CreateClient();
    private readonly CancellationTokenSource timeout = new(TimeSpan.FromMinutes(3));
    private readonly List<(string Bucket, string Key)> objectsRead = [];

    private CancellationToken Ct => timeout.Token;

    [Theory]
    [InlineData("web", 12 * MiB + 333)]  // 8 MiB parts (default)
    [InlineData("other", 11 * MiB + 1)]  // second bucket, created on first use; 5 MiB parts
    public async Task Ietf_upload_in_1_MiB_patches_lands_in_the_bucket(string target, int size)
    {
        var server = await endpoint.ServerAsync();
        var source = new byte[size];
        new Random(size).NextBytes(source);

        using var create = new HttpRequestMessage(HttpMethod.Post, $"uploads/{target}") { Content = new ByteArrayContent([]) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", size.ToString(CultureInfo.InvariantCulture));
        using var created = await server.Client.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!;

        for (var offset = 0; offset < size; offset += MiB)
        {
            var count = Math.Min(MiB, size - offset);
            var last = offset + count == size;
            using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, offset, count) };
            patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
            patch.Headers.Add("Upload-Draft-Interop-Version", "8");
            patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
            patch.Headers.Add("Upload-Complete", last ? "?1" : "?0");
            using var response = await server.Client.SendAsync(patch, Ct);
            Assert.Equal(last ? HttpStatusCode.OK : HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal((offset + count).ToString(CultureInfo.InvariantCulture), response.Headers.GetValues("Upload-Offset").Single());
        }

        var bucket = target == "other" ? server.OtherBucket : endpoint.Bucket;
        var key = endpoint.RunPrefix + target + "/" + IdOf(location);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(bucket, key));

        // The download endpoint serves the same bytes from S3.
        var downloaded = await server.Client.GetByteArrayAsync(new Uri(location + "/content", UriKind.RelativeOrAbsolute), Ct);
        Assert.Equal(Sha256Hex(source), Sha256Hex(downloaded));
    }

    [Fact]
    public async Task Advertised_max_size_is_what_the_part_layout_holds_without_a_declared_length()
    {
        var server = await endpoint.ServerAsync();
        // Target web: 8 MiB parts (default), 10,000 of them; a declared length may grow the parts up to 512 MiB.
        const long undeclaredCap = 10_000L * 8 * MiB;
        const long declaredCap = 10_000L * 512 * MiB;
        using (var options = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "uploads/web"), Ct))
        {
            Assert.Equal(undeclaredCap.ToString(CultureInfo.InvariantCulture), options.Headers.GetValues("Tus-Max-Size").Single());
            Assert.Contains($"max-size={undeclaredCap},", options.Headers.GetValues("Upload-Limit").Single(), StringComparison.Ordinal);
        }

        foreach (var (length, cap) in new (long?, long)[] { (null, undeclaredCap), (undeclaredCap + 1, declaredCap) })
        {
            using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/web") { Content = new ByteArrayContent([]) };
            create.Headers.Add("Upload-Draft-Interop-Version", "8");
            create.Headers.Add("Upload-Complete", "?0");
            if (length is long declared)
            {
                create.Headers.Add("Upload-Length", declared.ToString(CultureInfo.InvariantCulture));
            }

            using var created = await server.Client.SendAsync(create, Ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Contains($"max-size={cap},", created.Headers.GetValues("Upload-Limit").Single(), StringComparison.Ordinal);
            using var head = new HttpRequestMessage(HttpMethod.Head, created.Headers.Location);
            head.Headers.Add("Upload-Draft-Interop-Version", "8");
            using var state = await server.Client.SendAsync(head, Ct);
            Assert.Contains($"max-size={cap},", state.Headers.GetValues("Upload-Limit").Single(), StringComparison.Ordinal);
            using var delete = new HttpRequestMessage(HttpMethod.Delete, created.Headers.Location);
            using var deleted = await server.Client.SendAsync(delete, Ct);
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
    }

    [Fact]
    public async Task Key_template_puts_the_object_under_date_id_and_a_neutralised_client_file_name()
    {
        var server = await endpoint.ServerAsync();
        var source = new byte[6 * MiB + 1];
        new Random(77).NextBytes(source);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/templated") { Content = new ByteArrayContent(source) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?1");
        create.Content.Headers.ContentType = new MediaTypeHeaderValue("application/pdf");
        create.Content.Headers.TryAddWithoutValidation("Content-Disposition", "attachment; filename=\"../../My Report (final).pdf\"");
        using var created = await server.Client.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = IdOf(created.Headers.Location!);

        var prefix = endpoint.RunPrefix + "templated/";
        var listed = await inspector.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = endpoint.Bucket, Prefix = prefix }, Ct);
        var key = Assert.Single(listed.S3Objects, o => o.Key.Contains(id, StringComparison.Ordinal)).Key;
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(prefix)}\\d{{4}}/\\d{{2}}/{id}/[A-Za-z0-9._-]+$", key);
        Assert.DoesNotMatch("/\\.", key); // "../" cannot climb: slashes became '_' and no segment starts with a dot
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(endpoint.Bucket, key));
        var head = await inspector.GetObjectMetadataAsync(endpoint.Bucket, key, Ct);
        Assert.Equal("application/pdf", head.Headers.ContentType);
    }

    [Fact]
    public async Task Failing_S3_answers_503_keeps_the_offset_and_the_retried_PATCH_completes()
    {
        var server = await endpoint.ServerAsync();
        const int size = 9 * MiB + 10;
        var source = new byte[size];
        new Random(99).NextBytes(source);
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/web") { Content = new ByteArrayContent(source, 0, 3 * MiB) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", size.ToString(CultureInfo.InvariantCulture));
        using var created = await server.Client.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = created.Headers.Location!;

        try
        {
            server.Faults.UploadPart = S3Fault.FailBefore;
            using var failing = await PatchAsync(server, location, source, 3 * MiB, size - (3 * MiB));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        }
        finally
        {
            server.Faults.Reset();
        }

        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var headResponse = await server.Client.SendAsync(head, Ct);
        Assert.Equal("3145728", headResponse.Headers.GetValues("Upload-Offset").Single()); // the 3 MiB tail, nothing more

        using var retried = await PatchAsync(server, location, source, 3 * MiB, size - (3 * MiB));
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(endpoint.Bucket, endpoint.RunPrefix + "web/" + IdOf(location)));
    }

    [Fact]
    public async Task S3_answering_SlowDown_persistently_answers_503_with_Retry_After_and_keeps_the_offset()
    {
        var server = await endpoint.ServerAsync();
        const int size = 9 * MiB + 3;
        var source = new byte[size];
        new Random(41).NextBytes(source);
        var location = await CreateWithAsync(server, source, MiB);

        HttpResponseMessage failing;
        try
        {
            (server.Faults.AnswerStatus, server.Faults.AnswerCode) = (HttpStatusCode.ServiceUnavailable, "SlowDown");
            server.Faults.UploadPart = S3Fault.Answer;
            failing = await PatchAsync(server, location, source, MiB, size - MiB);
        }
        finally
        {
            server.Faults.Reset();
        }

        using (failing)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
            Assert.Equal("1", failing.Headers.GetValues("Retry-After").Single());
        }

        Assert.Equal(MiB.ToString(CultureInfo.InvariantCulture), await HeadOffsetAsync(server, location));
    }

    [Fact]
    public async Task S3_refusing_with_AccessDenied_answers_502_without_Retry_After_and_keeps_the_offset()
    {
        var server = await endpoint.ServerAsync();
        const int size = 9 * MiB + 7;
        var source = new byte[size];
        new Random(42).NextBytes(source);
        var location = await CreateWithAsync(server, source, MiB);

        HttpResponseMessage refused;
        try
        {
            (server.Faults.AnswerStatus, server.Faults.AnswerCode) = (HttpStatusCode.Forbidden, "AccessDenied");
            server.Faults.UploadPart = S3Fault.Answer;
            refused = await PatchAsync(server, location, source, MiB, size - MiB);
        }
        finally
        {
            server.Faults.Reset();
        }

        using (refused)
        {
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
            Assert.False(refused.Headers.Contains("Retry-After"));
            var problem = await refused.Content.ReadAsStringAsync(Ct);
            Assert.Contains("AccessDenied", problem, StringComparison.Ordinal);
            Assert.Contains("403", problem, StringComparison.Ordinal);
            Assert.DoesNotContain("injected", problem, StringComparison.Ordinal); // the provider's own message stays in the log
        }

        Assert.Equal(MiB.ToString(CultureInfo.InvariantCulture), await HeadOffsetAsync(server, location));

        // Once S3 accepts again, the upload continues from the same offset.
        using var retried = await PatchAsync(server, location, source, MiB, size - MiB);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(Sha256Hex(source), await ObjectSha256Async(endpoint.Bucket, endpoint.RunPrefix + "web/" + IdOf(location)));
    }

    [Theory(Timeout = 180_000)]
    [InlineData(MiB)]
    [InlineData(4_500_000)]
    [InlineData(5 * MiB)]
    [InlineData(17 * MiB)]
    public async Task Tus_js_client_ietf_draft_05_upload_equals_the_source_in_the_bucket(int chunkSize)
    {
        var server = await endpoint.ServerAsync();
        const long size = 20 * MiB + 4321;
        using var files = new TempFolder();
        var path = Path.Combine(files.Path, "source.bin");
        var sha = await DeterministicData.WriteFileAsync(path, 0x5EED5UL + (ulong)chunkSize, size, Ct);
        // Buffer input: tus-js-client marks its last chunk Upload-Complete: ?1 (with a file stream it does not, and
        // only the client completes an IETF upload).

        var result = await ChildProcess.RunAsync(
            "node",
            [Path.Combine(RepositoryLayout.ClientsDirectory, "tus-upload.mjs"), new Uri(server.BaseAddress, "uploads/web").ToString(), path, "ietf-draft-05",
                chunkSize.ToString(CultureInfo.InvariantCulture), "--input", "buffer"],
            RepositoryLayout.ClientsDirectory,
            TimeSpan.FromMinutes(2),
            Ct);
        Assert.True(result.ExitCode == 0, result.ToString());

        var url = System.Text.Json.JsonDocument.Parse(result.StandardOutput.Trim().Split('\n')[^1]).RootElement.GetProperty("url").GetString()!;
        var key = endpoint.RunPrefix + "web/" + IdOf(new Uri(url));
        Assert.Equal(sha, await ObjectSha256Async(endpoint.Bucket, key));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // fauxqs keeps objects in memory: drop what this test stored once it has been checked.
        foreach (var (bucket, key) in objectsRead)
        {
            await inspector.DeleteObjectAsync(bucket, key);
        }

        inspector.Dispose();
        timeout.Dispose();
    }

    private async Task<HttpResponseMessage> PatchAsync(S3Server server, Uri location, byte[] source, int offset, int count)
    {
        using var patch = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(source, offset, count) };
        patch.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        patch.Headers.Add("Upload-Draft-Interop-Version", "8");
        patch.Headers.Add("Upload-Offset", offset.ToString(CultureInfo.InvariantCulture));
        patch.Headers.Add("Upload-Complete", offset + count == source.Length ? "?1" : "?0");
        return await server.Client.SendAsync(patch, Ct);
    }

    private async Task<Uri> CreateWithAsync(S3Server server, byte[] source, int first)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "uploads/web") { Content = new ByteArrayContent(source, 0, first) };
        create.Headers.Add("Upload-Draft-Interop-Version", "8");
        create.Headers.Add("Upload-Complete", "?0");
        create.Headers.Add("Upload-Length", source.Length.ToString(CultureInfo.InvariantCulture));
        using var created = await server.Client.SendAsync(create, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return created.Headers.Location!;
    }

    private async Task<string> HeadOffsetAsync(S3Server server, Uri location)
    {
        using var head = new HttpRequestMessage(HttpMethod.Head, location);
        head.Headers.Add("Upload-Draft-Interop-Version", "8");
        using var response = await server.Client.SendAsync(head, Ct);
        return response.Headers.GetValues("Upload-Offset").Single();
    }

    private static string IdOf(Uri location) => location.OriginalString.TrimEnd('/').Split('/')[^1];

    private async Task<string> ObjectSha256Async(string bucket, string key)
    {
        objectsRead.Add((bucket, key));
        using var response = await inspector.GetObjectAsync(bucket, key, Ct);
        using var sha = SHA256.Create();
        return Convert.ToHexStringLower(await sha.ComputeHashAsync(response.ResponseStream, Ct));
    }

    private static string Sha256Hex(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("sb-s3-tus-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
