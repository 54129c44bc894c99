using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using StorageBridge.Tests;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// CORS per target over raw HTTP (the browser's side is in <see cref="CrossOriginClientTests"/>): preflights answered
/// by the gate, CORS headers on successes and on error answers, other origins refused with 403 before anything is
/// created, same-origin and Origin-less requests untouched.
/// </summary>
[Collection(BrowserSecurityCollection.Name)]
public sealed class CorsTests(BrowserSecurityFixture fixture)
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Preflight_from_an_allowed_origin_is_answered_204_with_the_policy_and_no_credentials()
    {
        using var response = await Client.SendAsync(Preflight("uploads/open/0123456789abcdef0123456789abcdef", fixture.AllowedOrigin, "PATCH",
            "upload-offset, upload-complete, upload-draft-interop-version, content-type, authorization"));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Equal("600", Single(response, "Access-Control-Max-Age"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
        var methods = List(response, "Access-Control-Allow-Methods");
        Assert.Equal(["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"], methods.Order(StringComparer.Ordinal));
        var headers = List(response, "Access-Control-Allow-Headers");
        foreach (var header in new[]
        {
            "Tus-Resumable", "Upload-Length", "Upload-Offset", "Upload-Metadata", "Upload-Defer-Length", "Upload-Concat", "Upload-Checksum",
            "X-HTTP-Method-Override", "X-Requested-With", "Upload-Complete", "Upload-Draft-Interop-Version", "Content-Type", "Content-Digest",
            "Repr-Digest", "Want-Repr-Digest", "Authorization", "X-Api-Key",
        })
        {
            Assert.Contains(header, headers, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("open")]
    [InlineData("closed")]
    public async Task Preflight_from_another_origin_is_refused_without_cors_headers(string target)
    {
        using var response = await Client.SendAsync(Preflight($"uploads/{target}", fixture.OtherOrigin, "POST", "tus-resumable, upload-length"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Methods"));
    }

    [Fact]
    public async Task Creation_from_an_allowed_origin_carries_allow_origin_and_exposes_the_protocol_headers()
    {
        using var request = IetfCreation("uploads/open", fixture.AllowedOrigin, length: 5, body: "hello");
        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("Origin", response.Headers.Vary);
        var exposed = List(response, "Access-Control-Expose-Headers");
        foreach (var header in new[]
        {
            "Location", "Upload-Offset", "Upload-Complete", "Upload-Length", "Upload-Limit", "Upload-Draft-Interop-Version", "Tus-Resumable",
            "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Tus-Checksum-Algorithm", "Upload-Expires", "Upload-Metadata", "Upload-Concat",
            "Upload-Defer-Length", "Repr-Digest", "Retry-After", "WWW-Authenticate",
        })
        {
            Assert.Contains(header, exposed, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Error_answers_to_an_allowed_origin_carry_the_cors_headers()
    {
        // 404: no such upload.
        using (var head = new HttpRequestMessage(HttpMethod.Head, "uploads/open/0123456789abcdef0123456789abcdef"))
        {
            head.Headers.Add("Origin", fixture.AllowedOrigin);
            head.Headers.Add("Upload-Draft-Interop-Version", "8");
            using var response = await Client.SendAsync(Absolute(head));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        }

        // 413: larger than the target's MaxUploadSize.
        using (var tooLarge = TusCreation("uploads/open", fixture.AllowedOrigin, BrowserSecurityFixture.MaxUploadSize + 1))
        {
            using var response = await Client.SendAsync(tooLarge);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
            Assert.Contains("Tus-Max-Size", List(response, "Access-Control-Expose-Headers"), StringComparer.OrdinalIgnoreCase);
        }

        // 409: a wrong offset.
        using var create = IetfCreation("uploads/open", fixture.AllowedOrigin, length: 10, body: "abc", complete: false);
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var append = new HttpRequestMessage(HttpMethod.Patch, created.Headers.Location) { Content = new ByteArrayContent("xyz"u8.ToArray()) };
        append.Headers.Add("Origin", fixture.AllowedOrigin);
        append.Headers.Add("Upload-Draft-Interop-Version", "8");
        append.Headers.Add("Upload-Offset", "7");
        append.Headers.Add("Upload-Complete", "?0");
        append.Content.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload");
        using var conflict = await Client.SendAsync(Absolute(append));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal(fixture.AllowedOrigin, Single(conflict, "Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Refusals_of_later_gates_and_failures_carry_the_cors_headers_and_preflights_never_reach_them()
    {
        // A 401 from the gate after CORS (where authentication runs).
        using (var refused = IetfCreation("uploads/open", fixture.AllowedOrigin, length: 2, body: "hi"))
        {
            refused.Headers.Add(RefusingTestGate.Header, "refuse");
            using var response = await Client.SendAsync(refused);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
            Assert.Contains("WWW-Authenticate", List(response, "Access-Control-Expose-Headers"), StringComparer.OrdinalIgnoreCase);
        }

        // A failure answered 500 after Response.Clear() still carries them.
        using (var failing = IetfCreation("uploads/open", fixture.AllowedOrigin, length: 2, body: "hi"))
        {
            failing.Headers.Add(RefusingTestGate.Header, "throw");
            using var response = await Client.SendAsync(failing);
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.False(response.Headers.Contains("X-Lost-By-Clear"));
            Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        }

        // The preflight is answered by the CORS gate: the later gate never sees it (it would refuse it here).
        using var preflight = Preflight("uploads/open", fixture.AllowedOrigin, "POST", "upload-complete");
        preflight.Headers.Add(RefusingTestGate.Header, "refuse");
        using var answer = await Client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
    }

    [Fact]
    public async Task Simple_multipart_chunk_from_another_origin_is_refused_before_anything_is_stored()
    {
        var bytes = new byte[4096];
        Random.Shared.NextBytes(bytes);
        var fields = ResumableChunks.Fields("resumable", $"4096-evil-{Guid.NewGuid():N}.bin", 1, 4096, 4096, "evil.bin");
        var (created, appended) = (fixture.CreatedOn("guarded"), fixture.AppendedOn("guarded"));

        foreach (var origin in new[] { fixture.OtherOrigin, "null", "https://evil.example" })
        {
            // What a page posts with a plain form or Resumable.js: multipart/form-data needs no preflight.
            using var chunk = ResumableChunks.Chunk(new Uri(fixture.Bridge, "uploads/guarded").ToString(), fields, bytes, ChunkMode.Multipart);
            chunk.Headers.Add("Origin", origin);
            using var response = await Client.SendAsync(chunk);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }

        using var tus = TusCreation("uploads/guarded", fixture.OtherOrigin, 10);
        using var tusAnswer = await Client.SendAsync(tus);
        Assert.Equal(HttpStatusCode.Forbidden, tusAnswer.StatusCode);
        Assert.Equal("1.0.0", Single(tusAnswer, "Tus-Resumable"));

        Assert.Equal(created, fixture.CreatedOn("guarded"));
        Assert.Equal(appended, fixture.AppendedOn("guarded"));
        Assert.Equal(0, fixture.FilesIn("guarded"));
    }

    [Fact]
    public async Task Target_without_cors_refuses_other_origins_and_serves_its_own_origin_and_origin_less_requests()
    {
        var created = fixture.CreatedOn("closed");
        using (var foreign = IetfCreation("uploads/closed", fixture.AllowedOrigin, length: 2, body: "hi"))
        using (var response = await Client.SendAsync(foreign))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        Assert.Equal(created, fixture.CreatedOn("closed"));

        // The server's own origin (Host: 127.0.0.1:P) and a client that sends no Origin at all.
        foreach (var origin in new[] { fixture.Bridge.GetLeftPart(UriPartial.Authority), null })
        {
            using var request = IetfCreation("uploads/closed", origin, length: 2, body: "hi");
            using var response = await Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }

        Assert.Equal(created + 2, fixture.CreatedOn("closed"));
    }

    [Fact]
    public async Task Same_origin_is_host_and_port_of_the_host_header_whatever_the_scheme()
    {
        // Behind a TLS-terminating proxy the page is https://bridge.example and the bridge sees Host: bridge.example.
        using var request = IetfCreation("uploads/closed", "https://bridge.example", length: 2, body: "hi");
        request.Headers.Host = "bridge.example";
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        using var otherPort = IetfCreation("uploads/closed", "https://bridge.example:8443", length: 2, body: "hi");
        otherPort.Headers.Host = "bridge.example";
        using var refused = await Client.SendAsync(otherPort);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task Star_allows_every_origin_with_a_wildcard_answer()
    {
        using var request = IetfCreation("uploads/anyone", "https://anywhere.example", length: 2, body: "hi");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("*", Single(response, "Access-Control-Allow-Origin"));

        using var preflight = await Client.SendAsync(Preflight("uploads/anyone", "https://elsewhere.example", "POST", "upload-complete"));
        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("*", Single(preflight, "Access-Control-Allow-Origin"));
        Assert.False(preflight.Headers.Contains("Access-Control-Max-Age"));
    }

    [Fact]
    public async Task Download_from_an_allowed_origin_exposes_its_headers()
    {
        using var create = TusCreation("uploads/open", fixture.AllowedOrigin, 5, "hello", "filename aGVsbG8udHh0,filetype dGV4dC9wbGFpbg==");
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var download = new HttpRequestMessage(HttpMethod.Get, created.Headers.Location + "/content");
        download.Headers.Add("Origin", fixture.AllowedOrigin);
        using var response = await Client.SendAsync(Absolute(download));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync());
        Assert.Equal(fixture.AllowedOrigin, Single(response, "Access-Control-Allow-Origin"));
        Assert.Contains("Content-Disposition", List(response, "Access-Control-Expose-Headers"), StringComparer.OrdinalIgnoreCase);
    }

    internal HttpRequestMessage Preflight(string path, string origin, string method, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, new Uri(fixture.Bridge, path));
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    internal HttpRequestMessage IetfCreation(string path, string? origin, long length, string body, bool complete = true)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Bridge, path)) { Content = new ByteArrayContent(Encoding.ASCII.GetBytes(body)) };
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        request.Headers.Add("Upload-Draft-Interop-Version", "8");
        request.Headers.Add("Upload-Complete", complete ? "?1" : "?0");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        return request;
    }

    internal HttpRequestMessage TusCreation(string path, string origin, long length, string body = "", string? metadata = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(fixture.Bridge, path)) { Content = new ByteArrayContent(Encoding.ASCII.GetBytes(body)) };
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Tus-Resumable", "1.0.0");
        request.Headers.Add("Upload-Length", length.ToString(CultureInfo.InvariantCulture));
        if (metadata is not null)
        {
            request.Headers.Add("Upload-Metadata", metadata);
        }

        if (body.Length > 0)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream");
        }

        return request;
    }

    private HttpRequestMessage Absolute(HttpRequestMessage request)
    {
        request.RequestUri = request.RequestUri is { IsAbsoluteUri: true } uri ? uri : new Uri(fixture.Bridge, request.RequestUri!);
        return request;
    }

    private static string Single(HttpResponseMessage response, string name) =>
        Assert.Single(response.Headers.TryGetValues(name, out var values) ? values : []);

    private static string[] List(HttpResponseMessage response, string name) =>
        [.. (response.Headers.TryGetValues(name, out var values) ? values : []).SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))];
}
