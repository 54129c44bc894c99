using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using static StorageBridge.Tests.ResumableChunks;

namespace StorageBridge.Protocol.Tests.Resumable;

/// <summary>
/// Malformed or inconsistent chunk requests: each gets the stated 4xx (never a 5xx) and leaves the stored chunks alone.
/// Each case starts a file of 4 chunks (1000, 1000, 1000, 1500 bytes) with chunks 1 (appended) and 3 (staged) stored,
/// sends the bad request, checks that chunks 1 and 3 still test 200 and 2 and 4 still 204, that the upload's offset and
/// staged bytes are unchanged, then sends 2 and 4 and checks the object's sha-256.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class ResumableMalformedRequestTests(IetfServerFixture server)
{
    private const string Url = IetfServerFixture.Prefix + "/default";
    private const int Total = 4500;
    private const int ChunkSize = 1000;

    public static TheoryData<string, int> Cases() => new()
    {
        { "chunk-number-zero", 400 },
        { "chunk-number-past-last", 400 },
        { "chunk-number-garbage", 400 },
        { "chunk-number-negative", 400 },
        { "chunk-number-decimal", 400 },
        { "chunk-number-plus-sign", 400 },
        { "chunk-number-overflow", 400 },
        { "chunk-number-twice-in-query", 400 },
        { "chunk-size-zero", 400 },
        { "chunk-size-missing", 400 },
        { "total-size-missing", 400 },
        { "total-size-garbage", 400 },
        { "identifier-missing", 400 },
        { "identifier-too-long", 400 },
        { "current-size-wrong", 400 },
        { "last-chunk-current-size-wrong", 400 },
        { "total-chunks-wrong", 400 },
        { "query-and-form-disagree", 400 },
        { "both-namespaces", 400 },
        { "octet-body-too-short", 400 },
        { "octet-body-too-long", 400 },
        { "multipart-body-too-short", 400 },
        { "multipart-body-too-long", 400 },
        { "multipart-no-boundary", 400 },
        { "multipart-no-file-part", 400 },
        { "multipart-section-not-form-data", 400 },
        { "multipart-mixed", 415 },
        { "urlencoded", 415 },
        { "duplicate-with-wrong-body-size", 400 },
        { "test-get-garbage", 400 },
        { "test-get-out-of-range", 400 },
        { "too-large-for-target", 413 },
        { "chunk-over-max-append-size", 413 },
        { "unknown-target", 404 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_chunk_request_is_refused_and_stored_chunks_are_unchanged(string name, int status)
    {
        var file = new byte[Total];
        new Random(name.Length).NextBytes(file);
        var identifier = $"{Total}-{name}-{Guid.NewGuid():N}";
        var location = (await SendAsync(identifier, file, 1)).Location;
        await SendAsync(identifier, file, 3);
        var id = IetfProtocol.IdOf(location);
        var stagedBefore = StagingFiles(id);

        using (var request = Malformed(name, identifier, file))
        using (var response = await server.Client.SendAsync(request))
        {
            Assert.Equal(status, (int)response.StatusCode);
            var text = await response.Content.ReadAsStringAsync();
            Assert.False(string.IsNullOrWhiteSpace(text), "a refusal says why");
        }

        foreach (var (number, stored) in new[] { (1, true), (2, false), (3, true), (4, false) })
        {
            using var test = await server.Client.SendAsync(Test(Url, Fields("resumable", identifier, number, ChunkSize, Total, "m.bin")));
            Assert.Equal(stored ? HttpStatusCode.OK : HttpStatusCode.NoContent, test.StatusCode);
        }

        Assert.Equal(ChunkSize, await server.Client.OffsetAsync(location));
        Assert.Equal(stagedBefore, StagingFiles(id));
        using (var data = File.OpenRead(server.StagingFile("default", id)))
        {
            var prefix = new byte[ChunkSize];
            await data.ReadExactlyAsync(prefix);
            Assert.Equal(file.AsSpan(0, ChunkSize).ToArray(), prefix);
        }

        await SendAsync(identifier, file, 2);
        var last = await SendAsync(identifier, file, 4);
        Assert.True(last.Complete);
        Assert.Equal(SHA256.HashData(file), SHA256.HashData(await server.Client.DownloadAsync(location)));
    }

    private HttpRequestMessage Malformed(string name, string identifier, byte[] file)
    {
        var fields = Fields("resumable", identifier, 2, ChunkSize, Total, "m.bin");
        var chunk2 = file.AsMemory(ChunkSize, ChunkSize);
        HttpRequestMessage With(Action<Dictionary<string, string>> change, ChunkMode mode = ChunkMode.Octet, ReadOnlyMemory<byte>? body = null)
        {
            change(fields);
            return Chunk(Url, fields, body ?? chunk2, mode);
        }

        switch (name)
        {
            case "chunk-number-zero": return With(f => f["resumableChunkNumber"] = "0");
            case "chunk-number-past-last": return With(f => f["resumableChunkNumber"] = "5");
            case "chunk-number-garbage": return With(f => f["resumableChunkNumber"] = "two");
            case "chunk-number-negative": return With(f => f["resumableChunkNumber"] = "-2");
            case "chunk-number-decimal": return With(f => f["resumableChunkNumber"] = "2.0");
            case "chunk-number-plus-sign": return With(f => f["resumableChunkNumber"] = "+2");
            case "chunk-number-overflow": return With(f => f["resumableChunkNumber"] = "99999999999999999999");
            case "chunk-number-twice-in-query":
            {
                var request = Chunk(Url, fields, chunk2, ChunkMode.Octet);
                request.RequestUri = new Uri(request.RequestUri!.OriginalString + "&resumableChunkNumber=4", UriKind.Relative);
                return request;
            }

            case "chunk-size-zero": return With(f => f["resumableChunkSize"] = "0");
            case "chunk-size-missing": return With(f => f.Remove("resumableChunkSize"));
            case "total-size-missing": return With(f => f.Remove("resumableTotalSize"));
            case "total-size-garbage": return With(f => f["resumableTotalSize"] = "4500 ");
            case "identifier-missing": return With(f => f.Remove("resumableIdentifier"));
            case "identifier-too-long": return With(f => f["resumableIdentifier"] = new string('x', 1025));
            case "current-size-wrong": return With(f => f["resumableCurrentChunkSize"] = "999", body: chunk2[..999]);
            case "last-chunk-current-size-wrong":
                fields = Fields("resumable", identifier, 4, ChunkSize, Total, "m.bin");
                return With(f => f["resumableCurrentChunkSize"] = "1000", body: file.AsMemory(3000, 1000));
            case "total-chunks-wrong": return With(f => f["resumableTotalChunks"] = "5");
            case "query-and-form-disagree":
            {
                var request = Chunk(Url, fields, chunk2, ChunkMode.Multipart);
                request.RequestUri = new Uri(request.RequestUri!.OriginalString.Replace("resumableChunkNumber=2", "resumableChunkNumber=4", StringComparison.Ordinal), UriKind.Relative);
                return request;
            }

            case "both-namespaces": return With(f => f["flowChunkNumber"] = "2");
            case "octet-body-too-short": return With(_ => { }, body: chunk2[..500]);
            case "octet-body-too-long": return With(_ => { }, body: file.AsMemory(ChunkSize, ChunkSize + 1));
            case "multipart-body-too-short": return With(_ => { }, ChunkMode.Multipart, chunk2[..999]);
            case "multipart-body-too-long": return With(_ => { }, ChunkMode.Multipart, file.AsMemory(ChunkSize, ChunkSize + 1));
            case "multipart-no-boundary":
            {
                var request = Chunk(Url, fields, chunk2, ChunkMode.Octet);
                request.Content!.Headers.ContentType = new MediaTypeHeaderValue("multipart/form-data");
                return request;
            }

            case "multipart-no-file-part":
            {
                var request = new HttpRequestMessage(HttpMethod.Post, Url + "?" + Query(fields));
                var form = new MultipartFormDataContent { { new StringContent("x"), "other" } };
                request.Content = form;
                return request;
            }

            case "multipart-section-not-form-data":
            {
                var request = new HttpRequestMessage(HttpMethod.Post, Url + "?" + Query(fields));
                var form = new MultipartFormDataContent();
                var part = new ByteArrayContent(chunk2.ToArray());
                part.Headers.TryAddWithoutValidation("Content-Disposition", "attachment; name=\"file\"");
                form.Add(part);
                request.Content = form;
                return request;
            }

            case "multipart-mixed":
            {
                var request = Chunk(Url, fields, chunk2, ChunkMode.Octet);
                request.Content!.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/mixed; boundary=abc");
                return request;
            }

            case "urlencoded":
            {
                var request = Chunk(Url, fields, chunk2, ChunkMode.Octet);
                request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
                return request;
            }

            case "duplicate-with-wrong-body-size":
                fields = Fields("resumable", identifier, 1, ChunkSize, Total, "m.bin");
                return With(_ => { }, ChunkMode.Multipart, file.AsMemory(0, 10));
            case "test-get-garbage":
                fields["resumableChunkNumber"] = "x";
                return Test(Url, fields);
            case "test-get-out-of-range":
                fields["resumableChunkNumber"] = "9";
                return Test(Url, fields);
            case "too-large-for-target":
            {
                // Target "small" takes at most 1024 bytes; the stored file of "default" is untouched by design.
                var big = Fields("resumable", identifier, 1, ChunkSize, 4500, "m.bin");
                return Chunk(IetfServerFixture.Prefix + "/small", big, file.AsMemory(0, ChunkSize), ChunkMode.Octet);
            }

            case "chunk-over-max-append-size":
            {
                // Target "limited" accepts at most 4096 bytes per request.
                var big = Fields("resumable", identifier, 1, 8192, 20_000, "m.bin");
                return Chunk(IetfServerFixture.Prefix + "/limited", big, new byte[8192], ChunkMode.Octet);
            }

            case "unknown-target":
                return Chunk(IetfServerFixture.Prefix + "/nope", fields, chunk2, ChunkMode.Octet);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }

    private async Task<ChunkAnswer> SendAsync(string identifier, byte[] file, int number)
    {
        var (start, end) = Range(number, Total, ChunkSize, 4);
        using var response = await server.Client.SendAsync(Chunk(Url, Fields("resumable", identifier, number, ChunkSize, Total, "m.bin"), file.AsMemory((int)start, (int)(end - start)), ChunkMode.Multipart));
        return await AnswerAsync(response);
    }

    /// <summary>Name, size and sha-256 of every staging file of the upload (its data file and its staged chunk slots).</summary>
    private string[] StagingFiles(string id) =>
        [.. Directory.EnumerateFiles(Path.Combine(server.TargetRoot("default"), ".staging"), id + "*")
            .Order(StringComparer.Ordinal)
            .Select(path => $"{Path.GetFileName(path)}:{Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)))}")];
}
