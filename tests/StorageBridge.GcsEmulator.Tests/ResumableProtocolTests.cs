using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using static StorageBridge.GcsEmulator.Tests.TestData;

namespace StorageBridge.GcsEmulator.Tests;

/// <summary>
/// The parts of Google's documented JSON-API protocol the official client does not expose (raw session requests,
/// multipart and simple uploads, gzip bodies, error format), driven with HttpClient exactly as the docs describe.
/// </summary>
[Collection(GcsEmulatorCollection.Name)]
public sealed class ResumableProtocolTests(GcsEmulatorFixture emulator)
{
    [Fact]
    public async Task Non_aligned_non_final_chunk_is_400_and_persists_nothing()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "unaligned");

        using (HttpResponseMessage bad = await emulator.PutAsync(session, "bytes 0-999/*", Bytes(1000)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            using JsonDocument error = JsonDocument.Parse(await bad.Content.ReadAsStringAsync());
            Assert.Equal(400, error.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            Assert.Equal("global", error.RootElement.GetProperty("error").GetProperty("errors")[0].GetProperty("domain").GetString());
        }

        // Also non-final when the total is known but the chunk does not reach it.
        using (HttpResponseMessage bad = await emulator.PutAsync(session, $"bytes 0-{Quantum + 9}/{(2 * Quantum) + 10}", Bytes(Quantum + 10)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using HttpResponseMessage status = await emulator.PutAsync(session, "bytes */*");
        Assert.Equal(308, (int)status.StatusCode);
        Assert.False(status.Headers.Contains("Range"));
    }

    [Fact]
    public async Task Cancel_answers_499_and_the_session_is_then_404()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "cancelled");
        using (HttpResponseMessage chunk = await emulator.PutAsync(session, $"bytes 0-{Quantum - 1}/*", Bytes(Quantum)))
        {
            Assert.Equal(308, (int)chunk.StatusCode);
            Assert.Equal("bytes=0-262143", string.Join(",", chunk.Headers.GetValues("Range")));
        }

        using (HttpResponseMessage cancel = await emulator.Http.DeleteAsync(session))
        {
            Assert.Equal(499, (int)cancel.StatusCode);
        }

        using (HttpResponseMessage status = await emulator.PutAsync(session, "bytes */*"))
        {
            Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        }

        using (HttpResponseMessage again = await emulator.Http.DeleteAsync(session))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        using HttpResponseMessage get = await emulator.Http.GetAsync(new Uri(emulator.Root, $"storage/v1/b/{bucket}/o/cancelled"));
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task Unknown_session_is_404()
    {
        string bucket = await emulator.NewBucketAsync();
        using HttpResponseMessage response = await emulator.PutAsync(emulator.Upload(bucket, "uploadType=resumable&upload_id=nope"), "bytes */*");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Resent_persisted_bytes_are_ignored_and_bytes_star_total_finalizes()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] payload = Bytes(3 * Quantum, seed: 7);
        Uri session = await emulator.InitiateAsync(bucket, "resend");

        using (HttpResponseMessage first = await emulator.PutAsync(session, $"bytes 0-{(2 * Quantum) - 1}/*", payload[..(2 * Quantum)]))
        {
            Assert.Equal("bytes=0-524287", string.Join(",", first.Headers.GetValues("Range")));
        }

        // Overlaps the 512 KiB already persisted: only the new 256 KiB count. The real bytes at the overlap
        // are replaced by zeros here to prove that re-sent bytes are dropped, not rewritten.
        byte[] overlapping = new byte[3 * Quantum];
        payload.AsSpan((2 * Quantum)..).CopyTo(overlapping.AsSpan(2 * Quantum));
        using (HttpResponseMessage second = await emulator.PutAsync(session, $"bytes 0-{(3 * Quantum) - 1}/*", overlapping))
        {
            Assert.Equal(308, (int)second.StatusCode);
            Assert.Equal("bytes=0-786431", string.Join(",", second.Headers.GetValues("Range")));
        }

        // Status query naming the total: everything is there, so this finalizes the object.
        using HttpResponseMessage done = await emulator.PutAsync(session, $"bytes */{3 * Quantum}");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using JsonDocument resource = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        JsonElement root = resource.RootElement;
        Assert.Equal("786432", root.GetProperty("size").GetString());
        Assert.Equal(Md5Base64(payload), root.GetProperty("md5Hash").GetString());
        Assert.Equal(Crc32CBase64(payload), root.GetProperty("crc32c").GetString());
        Assert.Equal("resend", root.GetProperty("name").GetString());
        Assert.Equal(bucket, root.GetProperty("bucket").GetString());

        // A completed session keeps answering the object (status query after completion).
        using HttpResponseMessage after = await emulator.PutAsync(session, "bytes */*");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        using JsonDocument again = JsonDocument.Parse(await after.Content.ReadAsStringAsync());
        Assert.Equal(root.GetProperty("generation").GetString(), again.RootElement.GetProperty("generation").GetString());

        Assert.Equal(Sha256(payload), Sha256(await emulator.Http.GetByteArrayAsync(new Uri(emulator.Root, $"storage/v1/b/{bucket}/o/resend?alt=media"))));
    }

    [Fact]
    public async Task Status_query_with_a_larger_total_is_308_and_a_gap_is_400()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "gap");
        using (HttpResponseMessage chunk = await emulator.PutAsync(session, $"bytes 0-{Quantum - 1}/*", Bytes(Quantum)))
        {
            Assert.Equal(308, (int)chunk.StatusCode);
        }

        using (HttpResponseMessage status = await emulator.PutAsync(session, $"bytes */{(2 * Quantum) + 1}"))
        {
            Assert.Equal(308, (int)status.StatusCode);
            Assert.Equal("bytes=0-262143", string.Join(",", status.Headers.GetValues("Range")));
        }

        using HttpResponseMessage gap = await emulator.PutAsync(session, $"bytes {2 * Quantum}-{2 * Quantum}/{(2 * Quantum) + 1}", [1]);
        Assert.Equal(HttpStatusCode.BadRequest, gap.StatusCode);
    }

    [Fact]
    public async Task Precondition_at_initiation_is_412()
    {
        string bucket = await emulator.NewBucketAsync();
        using (HttpResponseMessage simple = await PostMediaAsync(bucket, "exists", "text/plain", Encoding.ASCII.GetBytes("x")))
        {
            Assert.Equal(HttpStatusCode.OK, simple.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.Upload(bucket, "uploadType=resumable&name=exists&ifGenerationMatch=0"))
        {
            Content = new StringContent("{}", Encoding.UTF8, "application/json"),
        };
        using HttpResponseMessage response = await emulator.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        using JsonDocument error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("conditionNotMet", error.RootElement.GetProperty("error").GetProperty("errors")[0].GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Simple_media_upload_has_the_known_crc32c_and_md5()
    {
        string bucket = await emulator.NewBucketAsync();
        // The CRC-32C check value of "123456789" is 0xE3069283 (RFC 3720, B.4), big-endian in base64.
        using HttpResponseMessage response = await PostMediaAsync(bucket, "check/value", "text/plain", Encoding.ASCII.GetBytes("123456789"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument resource = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Convert.ToBase64String(new byte[] { 0xE3, 0x06, 0x92, 0x83 }), resource.RootElement.GetProperty("crc32c").GetString());
        Assert.Equal(Crc32CBase64(Encoding.ASCII.GetBytes("123456789")), resource.RootElement.GetProperty("crc32c").GetString());
        Assert.Equal("JfnnlDI7RTiF9RgfG2JNCw==", resource.RootElement.GetProperty("md5Hash").GetString());
        Assert.Equal("9", resource.RootElement.GetProperty("size").GetString());
        Assert.Equal("text/plain", resource.RootElement.GetProperty("contentType").GetString());
        Assert.Equal("check/value", resource.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Multipart_upload_with_gzipped_body_stores_metadata_and_media()
    {
        string bucket = await emulator.NewBucketAsync();
        byte[] media = Bytes(Quantum + 3, seed: 3);
        const string Boundary = "emulator_boundary";
        var body = new MemoryStream();
        await using (var gzip = new GZipStream(body, CompressionLevel.Fastest, leaveOpen: true))
        {
            byte[] head = Encoding.UTF8.GetBytes(
                $"--{Boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" +
                "{\"name\":\"multi/part.bin\",\"contentType\":\"application/x-multi\",\"metadata\":{\"origin\":\"test\"}}\r\n" +
                $"--{Boundary}\r\nContent-Type: application/octet-stream\r\n\r\n");
            await gzip.WriteAsync(head);
            await gzip.WriteAsync(media);
            await gzip.WriteAsync(Encoding.UTF8.GetBytes($"\r\n--{Boundary}--\r\n"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.Upload(bucket, "uploadType=multipart"))
        {
            Content = new ByteArrayContent(body.ToArray()),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/related; boundary={Boundary}");
        request.Content.Headers.ContentEncoding.Add("gzip");
        using HttpResponseMessage response = await emulator.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument resource = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement root = resource.RootElement;
        Assert.Equal("multi/part.bin", root.GetProperty("name").GetString());
        Assert.Equal("application/x-multi", root.GetProperty("contentType").GetString());
        Assert.Equal("test", root.GetProperty("metadata").GetProperty("origin").GetString());
        Assert.Equal(media.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), root.GetProperty("size").GetString());
        Assert.Equal(Md5Base64(media), root.GetProperty("md5Hash").GetString());
        Assert.Equal(Crc32CBase64(media), root.GetProperty("crc32c").GetString());

        byte[] downloaded = await emulator.Http.GetByteArrayAsync(new Uri(emulator.Root, $"download/storage/v1/b/{bucket}/o/multi%2Fpart.bin?alt=media"));
        Assert.Equal(Sha256(media), Sha256(downloaded));
    }

    [Fact]
    public async Task Gzipped_resumable_initiation_metadata_reaches_the_object()
    {
        string bucket = await emulator.NewBucketAsync();
        var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("{\"name\":\"gz\",\"contentType\":\"text/x-gz\",\"metadata\":{\"k\":\"v\"}}"));
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.Upload(bucket, "uploadType=resumable"))
        {
            Content = new ByteArrayContent(compressed.ToArray()),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Content.Headers.ContentEncoding.Add("gzip");
        using HttpResponseMessage initiated = await emulator.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, initiated.StatusCode);
        Uri session = initiated.Headers.Location!;

        using HttpResponseMessage done = await emulator.PutAsync(session, "bytes 0-4/5", Encoding.ASCII.GetBytes("hello"));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using JsonDocument resource = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        Assert.Equal("gz", resource.RootElement.GetProperty("name").GetString());
        Assert.Equal("text/x-gz", resource.RootElement.GetProperty("contentType").GetString());
        Assert.Equal("v", resource.RootElement.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("XUFAKrxLKna5cZ2REBfFkg==", resource.RootElement.GetProperty("md5Hash").GetString());
    }

    [Fact]
    public async Task Empty_object_finalized_by_bytes_star_zero()
    {
        string bucket = await emulator.NewBucketAsync();
        Uri session = await emulator.InitiateAsync(bucket, "empty");
        using HttpResponseMessage done = await emulator.PutAsync(session, "bytes */0");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        using JsonDocument resource = JsonDocument.Parse(await done.Content.ReadAsStringAsync());
        Assert.Equal("0", resource.RootElement.GetProperty("size").GetString());
        Assert.Equal("1B2M2Y8AsgTpgAmY7PhCfg==", resource.RootElement.GetProperty("md5Hash").GetString());
        Assert.Equal("AAAAAA==", resource.RootElement.GetProperty("crc32c").GetString());
    }

    private async Task<HttpResponseMessage> PostMediaAsync(string bucket, string name, string contentType, byte[] body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, emulator.Upload(bucket, $"uploadType=media&name={Uri.EscapeDataString(name)}"))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await emulator.Http.SendAsync(request);
    }
}
