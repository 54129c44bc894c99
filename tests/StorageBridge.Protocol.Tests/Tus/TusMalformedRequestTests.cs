using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using StorageBridge.Protocol.Tests.Ietf;
using static StorageBridge.Protocol.Tests.Tus.TusProtocol;

namespace StorageBridge.Protocol.Tests.Tus;

/// <summary>
/// Malformed tus requests: each gets the stated 4xx (never a 5xx) and leaves stored bytes alone — an append against
/// an upload holding 5 of 20 bytes keeps offset 5 and its staged bytes; a refused creation creates nothing.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class TusMalformedRequestTests(IetfServerFixture server)
{
    private static readonly byte[] Stored = [1, 2, 3, 4, 5];

    public static TheoryData<string, int> AppendCases() => new()
    {
        { "offset-negative", 400 },
        { "offset-garbage", 400 },
        { "offset-decimal", 400 },
        { "offset-plus-sign", 400 },
        { "offset-hex", 400 },
        { "offset-overflow", 400 },
        { "offset-missing", 400 },
        { "offset-wrong", 409 },
        { "content-type-missing", 415 },
        { "content-type-octet-stream", 415 },
        { "content-type-text", 415 },
        { "checksum-no-value", 400 },
        { "checksum-unsupported", 400 },
        { "checksum-not-base64", 400 },
        { "checksum-wrong-size", 400 },
        { "checksum-mismatch", 460 },
        { "length-negative", 400 },
        { "length-garbage", 400 },
        { "length-differs", 400 },
        { "past-length", 413 },
        { "version-old", 412 },
        { "override-put", 405 },
        { "unknown-id", 404 },
        { "malformed-id", 404 },
    };

    public static TheoryData<string, int> CreationCases() => new()
    {
        { "length-garbage", 400 },
        { "length-negative", 400 },
        { "length-overflow", 400 },
        { "defer-2", 400 },
        { "length-and-defer", 400 },
        { "no-length", 400 },
        { "metadata-bad-base64", 400 },
        { "metadata-duplicate-key", 400 },
        { "metadata-three-parts", 400 },
        { "metadata-empty-key", 400 },
        { "concat-bogus", 400 },
        { "concat-final-empty", 400 },
        { "concat-final-other-target", 400 },
        { "concat-final-with-length", 400 },
        { "data-wrong-content-type", 415 },
        { "version-old", 412 },
        { "unknown-target", 404 },
    };

    [Theory]
    [MemberData(nameof(AppendCases))]
    public async Task Malformed_append_is_refused_and_stored_bytes_are_unchanged(string name, int status)
    {
        var location = await server.Client.TusCreateAsync("default", 20, Stored);
        var id = IetfProtocol.IdOf(location);
        var body = new byte[] { 9, 9, 9 };
        var request = Patch(location, 5, body);
        switch (name)
        {
            case "offset-negative": SetOffset(request, "-1"); break;
            case "offset-garbage": SetOffset(request, "abc"); break;
            case "offset-decimal": SetOffset(request, "5.0"); break;
            case "offset-plus-sign": SetOffset(request, "+5"); break;
            case "offset-hex": SetOffset(request, "0x5"); break;
            case "offset-overflow": SetOffset(request, "99999999999999999999"); break;
            case "offset-missing": request.Headers.Remove("Upload-Offset"); break;
            case "offset-wrong": SetOffset(request, "3"); break;
            case "content-type-missing": request.Content!.Headers.ContentType = null; break;
            case "content-type-octet-stream": request.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream"); break;
            case "content-type-text": request.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/plain"); break;
            case "checksum-no-value": request.Headers.TryAddWithoutValidation("Upload-Checksum", "sha1"); break;
            case "checksum-unsupported": request.Headers.TryAddWithoutValidation("Upload-Checksum", "crc32 AAAAAA=="); break;
            case "checksum-not-base64": request.Headers.TryAddWithoutValidation("Upload-Checksum", "sha1 !!!not-base64!!!"); break;
            case "checksum-wrong-size": request.Headers.TryAddWithoutValidation("Upload-Checksum", "sha1 AAAA"); break;
            case "checksum-mismatch":
                request.Headers.TryAddWithoutValidation("Upload-Checksum", "sha1 " + Convert.ToBase64String(SHA1.HashData(Stored)));
                break;
            case "length-negative": request.Headers.TryAddWithoutValidation("Upload-Length", "-3"); break;
            case "length-garbage": request.Headers.TryAddWithoutValidation("Upload-Length", "twenty"); break;
            case "length-differs": request.Headers.TryAddWithoutValidation("Upload-Length", "30"); break;
            case "past-length":
                request.Content = new ByteArrayContent(new byte[16]);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
                break;
            case "version-old":
                request.Headers.Remove("Tus-Resumable");
                request.Headers.TryAddWithoutValidation("Tus-Resumable", "0.2.2");
                break;
            case "override-put":
                request.Method = HttpMethod.Post;
                request.Headers.TryAddWithoutValidation("X-HTTP-Method-Override", "PUT");
                break;
            case "unknown-id": request.RequestUri = new Uri($"{IetfServerFixture.Prefix}/default/{new string('b', 32)}", UriKind.Relative); break;
            case "malformed-id": request.RequestUri = new Uri($"{IetfServerFixture.Prefix}/default/..%2Fnot-an-id", UriKind.Relative); break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        if (status != 412)
        {
            Assert.Equal("1.0.0", Header(response, "Tus-Resumable"));
        }

        using var head = await server.Client.TusHeadAsync(location);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("5", Header(head, "Upload-Offset"));
        Assert.Equal("20", Header(head, "Upload-Length"));
        var staged = await File.ReadAllBytesAsync(server.StagingFile("default", id));
        Assert.Equal(Stored, staged[..5]);
    }

    [Theory]
    [MemberData(nameof(CreationCases))]
    public async Task Malformed_creation_is_refused_and_creates_nothing(string name, int status)
    {
        var staging = Path.Combine(server.TargetRoot("default"), ".staging");
        Directory.CreateDirectory(staging);
        var before = Directory.GetFiles(staging).Length;
        var request = Creation("default", 10);
        switch (name)
        {
            case "length-garbage": SetHeader(request, "Upload-Length", "ten"); break;
            case "length-negative": SetHeader(request, "Upload-Length", "-1"); break;
            case "length-overflow": SetHeader(request, "Upload-Length", "99999999999999999999"); break;
            case "defer-2":
                request.Headers.Remove("Upload-Length");
                request.Headers.TryAddWithoutValidation("Upload-Defer-Length", "2");
                break;
            case "length-and-defer": request.Headers.TryAddWithoutValidation("Upload-Defer-Length", "1"); break;
            case "no-length": request.Headers.Remove("Upload-Length"); break;
            case "metadata-bad-base64": request.Headers.TryAddWithoutValidation("Upload-Metadata", "filename !!!"); break;
            case "metadata-duplicate-key": request.Headers.TryAddWithoutValidation("Upload-Metadata", $"a {Base64("x")},a {Base64("y")}"); break;
            case "metadata-three-parts": request.Headers.TryAddWithoutValidation("Upload-Metadata", "a b c"); break;
            case "metadata-empty-key": request.Headers.TryAddWithoutValidation("Upload-Metadata", $", {Base64("x")}"); break;
            case "concat-bogus": request.Headers.TryAddWithoutValidation("Upload-Concat", "sometimes"); break;
            case "concat-final-empty":
                request.Headers.Remove("Upload-Length");
                request.Headers.TryAddWithoutValidation("Upload-Concat", "final;");
                break;
            case "concat-final-other-target":
                request.Headers.Remove("Upload-Length");
                request.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{IetfServerFixture.Prefix}/small/{new string('c', 32)}");
                break;
            case "concat-final-with-length":
                request.Headers.TryAddWithoutValidation("Upload-Concat", $"final;{IetfServerFixture.Prefix}/default/{new string('c', 32)}");
                break;
            case "data-wrong-content-type":
                request.Content = new ByteArrayContent([1, 2, 3]);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
                break;
            case "version-old":
                request.Headers.Remove("Tus-Resumable");
                request.Headers.TryAddWithoutValidation("Tus-Resumable", "0.1.0");
                break;
            case "unknown-target": request.RequestUri = new Uri($"{IetfServerFixture.Prefix}/nosuchtarget", UriKind.Relative); break;
            default: throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }

        using var response = await server.Client.SendAsync(request);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Null(Header(response, "Location"));
        Assert.Equal(before, Directory.GetFiles(staging).Length);
    }

    private static void SetOffset(HttpRequestMessage request, string value) => SetHeader(request, "Upload-Offset", value);

    private static void SetHeader(HttpRequestMessage request, string name, string value)
    {
        request.Headers.Remove(name);
        request.Headers.TryAddWithoutValidation(name, value);
    }

    [Fact]
    public void There_are_at_least_twenty_malformed_cases() =>
        Assert.True(AppendCases().Count + CreationCases().Count >= 20, CreationCases().Count.ToString(CultureInfo.InvariantCulture));
}
