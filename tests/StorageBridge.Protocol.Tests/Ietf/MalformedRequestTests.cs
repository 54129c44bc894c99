using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// Bad requests against an upload that already holds 1024 known bytes (target <c>limited</c>: appends of 16..4096
/// bytes, declared length 2048). Every one must answer 4xx (never 5xx); afterwards HEAD still reports offset 1024 and
/// completing the upload with the right remaining bytes gives exactly the expected object. Requests that would change
/// the upload if wrongly accepted carry 32 "poison" bytes, so leniency shows up as a wrong offset or digest.
/// Structured fields are judged by strict RFC 9651: a value that does not parse (or has the wrong type) is ignored,
/// so a required field with such a value is missing.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class MalformedRequestTests(IetfServerFixture server)
{
    private const string Target = "limited";
    private const int Held = 1024;
    private const int Total = 2048;
    private static readonly byte[] Data = TestData.Random(Total, seed: 2024);
    private static readonly byte[] Poison = Enumerable.Repeat((byte)0xEE, 32).ToArray();

    /// <summary>The upload under attack.</summary>
    public sealed record Ctx(string Location, string Id)
    {
        public string Path(string target = Target) => $"/uploads/{target}/{Id}";
    }

    private sealed record Case(Func<Ctx, HttpRequestMessage>? Http = null, Func<Ctx, byte[]>? Raw = null, bool Bodyless = false);

    private static readonly Dictionary<string, Case> Cases = BuildCases();

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Suite_has_at_least_60_distinct_bad_requests() => Assert.True(Cases.Count >= 60, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_request_is_4xx_and_leaves_the_upload_unchanged(string name)
    {
        var location = await server.Client.CreateAsync(Target, Data[..Held], uploadLength: Total);
        var ctx = new Ctx(location, IdOf(location));
        var @case = Cases[name];

        var status = @case.Http is not null ? await SendHttpAsync(@case.Http(ctx)) : await SendRawAsync(@case.Raw!(ctx), @case.Bodyless);

        Assert.True(status is >= 400 and < 500, $"{name}: answered {status}");
        await AssertUnchangedAsync(location);
    }

    private async Task<int> SendHttpAsync(HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await server.Client.SendAsync(request);
            return (int)response.StatusCode;
        }
    }

    private async Task<int> SendRawAsync(byte[] request, bool bodyless)
    {
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(request);
        var responses = await connection.ReadUntilFinalAsync(bodyless);
        return responses[^1].StatusCode;
    }

    private async Task AssertUnchangedAsync(string location)
    {
        using (var head = await server.Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
            Assert.Equal(Held, LongHeader(head, "Upload-Offset"));
            Assert.Equal(Total, LongHeader(head, "Upload-Length"));
            Assert.False(Complete(head, 8));
        }

        using (var rest = await server.Client.AppendAsync(location, Held, complete: true, Data[Held..]))
        {
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        }

        Assert.Equal(TestData.Sha256Hex(Data), TestData.Sha256Hex(await server.Client.DownloadAsync(location)));
        Assert.Equal(TestData.Sha256Hex(Data), TestData.Sha256HexOfFile(Path.Combine(server.TargetRoot(Target), IdOf(location))));
    }

    // ---- request builders -------------------------------------------------------------------------------------

    /// <summary>A valid non-completing PATCH at the right offset with the poison bytes, then <paramref name="tweak"/>.</summary>
    private static Func<Ctx, HttpRequestMessage> Patch(Action<HttpRequestMessage>? tweak = null, byte[]? body = null, int version = 8, string? path = null) => ctx =>
    {
        var request = Append(path?.Replace("{id}", ctx.Id, StringComparison.Ordinal) ?? ctx.Location, version, Held, complete: false, body ?? Poison);
        tweak?.Invoke(request);
        return request;
    };

    private static Func<Ctx, HttpRequestMessage> PatchWith(string field, string? value, byte[]? body = null) => Patch(r => Set(r, field, value), body);

    private static void Set(HttpRequestMessage request, string field, string? value)
    {
        if (field.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
        {
            request.Content!.Headers.Remove(field);
            if (value is not null)
            {
                Assert.True(request.Content.Headers.TryAddWithoutValidation(field, value), $"{field}: {value}");
            }

            return;
        }

        request.Headers.Remove(field);
        if (value is not null)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(field, value), $"{field}: {value}");
        }
    }

    private static Func<Ctx, HttpRequestMessage> Simple(HttpMethod method, Func<Ctx, string> url, params (string Field, string Value)[] headers) => ctx =>
    {
        var request = Request(method, url(ctx), 8);
        foreach (var (field, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(field, value);
        }

        return request;
    };

    private static Func<Ctx, HttpRequestMessage> Post(Action<HttpRequestMessage> tweak, byte[]? body = null, string target = Target) => _ =>
    {
        var request = Creation(target, 8, complete: false, body);
        tweak(request);
        return request;
    };

    /// <summary>Raw PATCH to <paramref name="path"/> ("{id}" replaced) with exactly these header lines and the poison body.</summary>
    private static Func<Ctx, byte[]> RawPatch(string path, params string[] headers) => ctx =>
    {
        string[] lines = [.. headers, .. headers.Any(h => h.StartsWith("Content-Length", StringComparison.OrdinalIgnoreCase)) ? Array.Empty<string>() : [$"Content-Length: {Poison.Length}"]];
        return [.. RawHttpConnection.Head("PATCH", path.Replace("{id}", ctx.Id, StringComparison.Ordinal), lines), .. Poison];
    };

    private static string[] ValidPatchHeaders(string? without = null, params string[] extra) =>
    [
        .. new[]
        {
            "Upload-Draft-Interop-Version: 8",
            $"Upload-Offset: {Held}",
            "Upload-Complete: ?0",
            "Content-Type: application/partial-upload",
        }.Where(h => without is null || !h.StartsWith(without + ":", StringComparison.OrdinalIgnoreCase)),
        .. extra,
    ];

    private static string Sha256Of(byte[] data) => $"sha-256=:{TestData.Sha256Base64(data)}:";

    private static Dictionary<string, Case> BuildCases()
    {
        var cases = new Dictionary<string, Case>(StringComparer.Ordinal);
        void Http(string name, Func<Ctx, HttpRequestMessage> build) => cases.Add(name, new Case(Http: build));
        void Raw(string name, Func<Ctx, byte[]> build, bool bodyless = false) => cases.Add(name, new Case(Raw: build, Bodyless: bodyless));

        // Upload-Offset: missing, wrong type, out of range, not RFC 9651, or simply wrong.
        Http("offset missing", PatchWith("Upload-Offset", null));
        Http("offset decimal 1024.0", PatchWith("Upload-Offset", "1024.0"));
        Http("offset decimal 1.5", PatchWith("Upload-Offset", "1.5"));
        Http("offset hex 0x400", PatchWith("Upload-Offset", "0x400"));
        Http("offset -1", PatchWith("Upload-Offset", "-1"));
        Http("offset -1024", PatchWith("Upload-Offset", "-1024"));
        Http("offset 20 digits", PatchWith("Upload-Offset", "99999999999999999999"));
        Http("offset 16 digits", PatchWith("Upload-Offset", "9999999999999999"));
        Http("offset 19 digits with leading zeros", PatchWith("Upload-Offset", "0000000000000001024"));
        Http("offset string", PatchWith("Upload-Offset", "\"1024\""));
        Http("offset boolean", PatchWith("Upload-Offset", "?1"));
        Http("offset list", PatchWith("Upload-Offset", "1024, 1024"));
        Http("offset word", PatchWith("Upload-Offset", "abc"));
        Http("offset trailing semicolon", PatchWith("Upload-Offset", "1024;"));
        Http("offset parameter without value", PatchWith("Upload-Offset", "1024;a="));
        Http("offset uppercase parameter key", PatchWith("Upload-Offset", "1024;A=1"));
        Http("offset two numbers", PatchWith("Upload-Offset", "1024 1024"));
        Http("offset byte sequence", PatchWith("Upload-Offset", ":AAQ=:"));
        Http("offset plus sign", PatchWith("Upload-Offset", "+1024"));
        Http("offset exponent", PatchWith("Upload-Offset", "1.024e3"));
        Http("offset date", PatchWith("Upload-Offset", "@1024"));
        Http("offset display string", PatchWith("Upload-Offset", "%\"1024\""));
        Http("offset trailing letters", PatchWith("Upload-Offset", "1024abc"));
        Http("offset behind (0)", PatchWith("Upload-Offset", "0"));
        Http("offset behind (1023)", PatchWith("Upload-Offset", "1023"));
        Http("offset ahead (1025)", PatchWith("Upload-Offset", "1025"));
        Http("offset far ahead", PatchWith("Upload-Offset", "999999999999999"));
        Raw("offset empty", RawPatch("/uploads/limited/{id}", ValidPatchHeaders("Upload-Offset", "Upload-Offset: ")));
        Raw("offset two header lines", RawPatch("/uploads/limited/{id}", ValidPatchHeaders("Upload-Offset", $"Upload-Offset: {Held}", $"Upload-Offset: {Held}")));

        // Upload-Complete (Upload-Incomplete for interop 3).
        Http("complete missing", PatchWith("Upload-Complete", null));
        Http("complete true", PatchWith("Upload-Complete", "true"));
        Http("complete two booleans", PatchWith("Upload-Complete", "?1 ?0"));
        Http("complete ?2", PatchWith("Upload-Complete", "?2"));
        Http("complete bare ?", PatchWith("Upload-Complete", "?"));
        Http("complete integer 0", PatchWith("Upload-Complete", "0"));
        Http("complete list", PatchWith("Upload-Complete", "?0, ?0"));
        Http("complete string", PatchWith("Upload-Complete", "\"?0\""));
        Http("complete trailing semicolon", PatchWith("Upload-Complete", "?0;"));
        Http("complete ?T", PatchWith("Upload-Complete", "?T"));
        Http("complete only Upload-Incomplete (interop 8)", Patch(r => { Set(r, "Upload-Complete", null); Set(r, "Upload-Incomplete", "?1"); }));
        Http("complete interop 3 without Upload-Incomplete", Patch(r => { Set(r, "Upload-Incomplete", null); Set(r, "Upload-Complete", "?0"); }, version: 3));
        Http("complete interop 3 garbage Upload-Incomplete", Patch(r => Set(r, "Upload-Incomplete", "yes"), version: 3));
        Raw("complete two header lines", RawPatch("/uploads/limited/{id}", ValidPatchHeaders("Upload-Complete", "Upload-Complete: ?0", "Upload-Complete: ?0")));

        // Upload-Length.
        Http("length -1", PatchWith("Upload-Length", "-1"));
        Http("length word", PatchWith("Upload-Length", "abc"));
        Http("length decimal", PatchWith("Upload-Length", "2048.0"));
        Http("length disagrees with the declared length", PatchWith("Upload-Length", "4000"));
        Http("length below the offset", PatchWith("Upload-Length", "100"));
        Http("length 20 digits", PatchWith("Upload-Length", "99999999999999999999"));
        Http("length boolean", PatchWith("Upload-Length", "?1"));

        // Sizes and limits. Content past the declared length is not here: it invalidates the upload (CompletenessTests),
        // and with 1024 bytes left every append over max-append-size is past the length too (AppendTests has 413).
        Http("append under min-append-size", Patch(body: TestData.Random(15, seed: 3)));
        Http("completing append short of the length", Patch(r => Set(r, "Upload-Complete", "?1"), body: TestData.Random(500, seed: 3)));
        Http("completing empty append short of the length", Patch(r => Set(r, "Upload-Complete", "?1"), body: []));

        // Media types.
        Http("media type missing", Patch(r => r.Content!.Headers.ContentType = null));
        Http("media type tus", Patch(r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/offset+octet-stream")));
        Http("media type octet-stream", Patch(r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream")));
        Http("media type text", Patch(r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("text/plain")));
        Http("media type with suffix", Patch(r => r.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/partial-upload-x")));
        Http("media type without slash", PatchWith("Content-Type", "partial-upload"));
        Http("media type missing (interop 6)", Patch(r => r.Content!.Headers.ContentType = null, version: 6));

        // Content-Digest.
        Http("digest sha-256 mismatch", PatchWith("Content-Digest", Sha256Of(Data[Held..(Held + 32)])));
        Http("digest sha-256 too short", PatchWith("Content-Digest", "sha-256=:AAAA:"));
        Http("digest sha-256 token", PatchWith("Content-Digest", "sha-256=abc"));
        Http("digest sha-256 bad base64", PatchWith("Content-Digest", "sha-256=:!!!!:"));
        Http("digest sha-256 boolean", PatchWith("Content-Digest", "sha-256"));
        Http("digest sha-256 integer", PatchWith("Content-Digest", "sha-256=42"));
        Http("digest sha-512 mismatch", PatchWith("Content-Digest", $"sha-512=:{TestData.Sha512Base64(Data)}:"));
        Http("digest sha-256 right but sha-512 wrong", PatchWith("Content-Digest", $"{Sha256Of(Poison)}, sha-512=:{TestData.Sha512Base64(Data)}:"));

        // Methods and URLs.
        Http("PATCH to the target URL", Patch(path: "/uploads/limited"));
        Http("POST to the upload URL", Patch(r => r.Method = HttpMethod.Post));
        Http("PUT to the upload URL", Patch(r => r.Method = HttpMethod.Put));
        Http("PATCH to the content URL", Patch(path: "/uploads/limited/{id}/content"));
        Http("unknown id", Patch(path: $"/uploads/limited/{new string('e', 32)}"));
        Http("id too short", Patch(r => r.RequestUri = new Uri(r.RequestUri!.OriginalString[..^1], UriKind.Relative)));
        Http("id too long", Patch(r => r.RequestUri = new Uri(r.RequestUri!.OriginalString + "0", UriKind.Relative)));
        Http("id uppercase", Patch(path: "/uploads/limited/{ID}", tweak: r => r.RequestUri = new Uri(r.RequestUri!.OriginalString.ToUpperInvariant().Replace("/UPLOADS/LIMITED/", "/uploads/limited/", StringComparison.Ordinal), UriKind.Relative)));
        Http("id not hex", Patch(r => r.RequestUri = new Uri(r.RequestUri!.OriginalString[..^1] + "g", UriKind.Relative)));
        Http("id 1000 characters", Patch(path: "/uploads/limited/" + new string('a', 1000)));
        Http("id non-ASCII", Patch(path: "/uploads/limited/%C3%A9%C3%A9"));
        Http("id on another target", Patch(path: "/uploads/default/{id}"));
        Http("unknown target", Patch(path: "/uploads/nope/{id}"));
        Raw("id with encoded slash", ctx => RawPatch($"/uploads/limited/{ctx.Id[..16]}%2F{ctx.Id[16..]}", ValidPatchHeaders())(ctx));
        Raw("id with trailing dot", RawPatch("/uploads/limited/{id}.", ValidPatchHeaders()));
        Raw("id with NUL", RawPatch("/uploads/limited/{id}%00", ValidPatchHeaders()));
        Raw("traversal in id (encoded slashes)", RawPatch("/uploads/limited/..%2F..%2F{id}", ValidPatchHeaders()));
        Raw("traversal into staging", RawPatch("/uploads/limited/..%2F.staging%2F{id}%2Fdata", ValidPatchHeaders()));
        Raw("traversal in target", RawPatch("/uploads/..%2Flimited/{id}", ValidPatchHeaders()));
        Raw("traversal with dot segments", RawPatch("/uploads/%2E%2E/limited/{id}", ValidPatchHeaders()));
        Raw("dot segment back to the target", RawPatch("/uploads/limited/{id}/..", ValidPatchHeaders()));
        Raw("backslash traversal", RawPatch("/uploads/limited/..%5C..%5C{id}", ValidPatchHeaders()));

        // Offset retrieval with upload fields, and on things that do not exist.
        Raw("HEAD with Upload-Offset", ctx => RawHttpConnection.Head("HEAD", ctx.Path(), "Upload-Draft-Interop-Version: 8", $"Upload-Offset: {Held}"), bodyless: true);
        Http("HEAD with Upload-Complete", Simple(HttpMethod.Head, c => c.Location, ("Upload-Complete", "?1")));
        Http("GET with Upload-Length", Simple(HttpMethod.Get, c => c.Location, ("Upload-Length", "2048")));
        Http("GET with Upload-Incomplete", Simple(HttpMethod.Get, c => c.Location, ("Upload-Incomplete", "?0")));
        Http("HEAD unknown id", Simple(HttpMethod.Head, _ => $"/uploads/limited/{new string('f', 32)}"));

        // Download of the incomplete upload, with and without Range garbage.
        Http("download incomplete", Simple(HttpMethod.Get, c => c.Location + "/content"));
        Http("download incomplete with Range garbage", Simple(HttpMethod.Get, c => c.Location + "/content", ("Range", "bytes=abc")));
        Http("download incomplete with inverted Range", Simple(HttpMethod.Get, c => c.Location + "/content", ("Range", "bytes=10-2")));
        Http("download incomplete with huge Range", Simple(HttpMethod.Get, c => c.Location + "/content", ("Range", "bytes=99999999999999999999999-")));

        // Cancellation that must not reach this upload.
        Http("DELETE unknown id", Simple(HttpMethod.Delete, _ => $"/uploads/limited/{new string('0', 32)}"));
        Http("DELETE id of wrong shape", Simple(HttpMethod.Delete, c => c.Location + "x"));
        Http("DELETE on another target", Simple(HttpMethod.Delete, c => c.Path("default")));
        Http("DELETE on the target URL", Simple(HttpMethod.Delete, _ => "/uploads/limited"));
        Http("OPTIONS unknown target", Simple(HttpMethod.Options, _ => "/uploads/nope"));

        // Creation requests with bad fields (they must not disturb existing uploads either).
        Http("create without any upload field", ctx => new HttpRequestMessage(HttpMethod.Post, "/uploads/limited") { Content = new ByteArrayContent(Poison) });
        Http("create complete maybe", Post(r => Set(r, "Upload-Complete", "maybe")));
        Http("create length -1", Post(r => Set(r, "Upload-Length", "-1")));
        Http("create length 20 digits", Post(r => Set(r, "Upload-Length", "99999999999999999999")));
        Http("create length disagrees with content", Post(r => { Set(r, "Upload-Complete", "?1"); Set(r, "Upload-Length", "33"); }, Poison));
        Http("create content digest mismatch", Post(r => Set(r, "Content-Digest", Sha256Of(Data)), Poison));
        Http("create repr digest malformed", Post(r => Set(r, "Repr-Digest", "sha-256=:AAAA:"), Poison));
        Http("create content over max-append-size", Post(_ => { }, TestData.Random(4097)));
        Http("create content under min-append-size", Post(_ => { }, TestData.Random(5)));
        Http("create over max-size", Post(r => Set(r, "Upload-Length", "5000"), target: "small"));
        Http("create on unknown target", Post(_ => { }, target: "nope"));

        // Requests Kestrel itself refuses.
        Raw("Content-Length not a number", RawPatch("/uploads/limited/{id}", ValidPatchHeaders(null, "Content-Length: abc")));
        Raw("Content-Length negative", RawPatch("/uploads/limited/{id}", ValidPatchHeaders(null, "Content-Length: -32")));
        Raw("space in a header name", RawPatch("/uploads/limited/{id}", ValidPatchHeaders(null, "Upload Offset: 1024")));
        Raw("control character in Upload-Offset", RawPatch("/uploads/limited/{id}", ValidPatchHeaders("Upload-Offset", "Upload-Offset: 10\u000124")));
        return cases;
    }
}
