using System.Net;
using System.Text.Json;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// Every method of every protocol and the download route, with each kind of credential, against uploads alice (tenant
/// acme) owns: exact status codes, and afterwards alice's bytes are all there, byte-exact (no cross-tenant read, write
/// or cancel). Bad credentials answer 401 with WWW-Authenticate; any other principal gets 404 for alice's uploads.
/// </summary>
public sealed class AuthMatrixTests : IAsyncLifetime
{
    private const string Target = "shared";
    private const int Chunk = 1024;

    private SecureServer _server = null!;
    private SecureRequests _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SecureServer.StartAsync();
        _http = new SecureRequests(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<Credential> Strangers => [Credential.None, Credential.BadSignature, Credential.Expired, Credential.WrongAudience, Credential.WrongApiKey, Credential.OtherTenant, Credential.ApiKey];

    [Theory]
    [MemberData(nameof(Strangers))]
    public async Task Nobody_but_the_owner_reads_writes_or_cancels(Credential credential)
    {
        var unauthenticated = credential is Credential.None or Credential.BadSignature or Credential.Expired or Credential.WrongAudience or Credential.WrongApiKey;
        var refused = unauthenticated ? HttpStatusCode.Unauthorized : HttpStatusCode.NotFound;
        var owner = Credential.Owner;

        // alice's uploads: an open IETF upload, an open tus upload, a completed tus partial, a chunk upload with chunk 1 in.
        var ietfBytes = SecureRequests.Bytes(8192, 1);
        using var created = await _http.IetfCreateAsync(Target, ietfBytes[..4096], complete: false, owner);
        var ietf = SecureRequests.Location(created);
        var tusBytes = SecureRequests.Bytes(2048, 2);
        var tus = SecureRequests.Location(await _http.TusCreateAsync(Target, tusBytes.Length, owner));
        Assert.Equal(HttpStatusCode.NoContent, (await _http.TusPatchAsync(tus, 0, tusBytes[..1024], owner)).StatusCode);
        var partialBytes = SecureRequests.Bytes(1024, 3);
        var partial = SecureRequests.Location(await _http.TusCreateAsync(Target, partialBytes.Length, owner, partial: true));
        Assert.Equal(HttpStatusCode.NoContent, (await _http.TusPatchAsync(partial, 0, partialBytes, owner)).StatusCode);
        var chunkFile = SecureRequests.Bytes(2 * Chunk, 4);
        var identifier = $"{chunkFile.Length}-report.pdf";
        Assert.Equal(HttpStatusCode.OK, (await _http.ChunkAsync(Target, identifier, 1, Chunk, chunkFile, owner)).StatusCode);

        // The stranger, on every method.
        var garbage = SecureRequests.Bytes(4096, 99);
        await ExpectAsync(refused, _http.IetfHeadAsync(ietf, credential), unauthenticated);
        await ExpectAsync(refused, _http.IetfAppendAsync(ietf, 4096, garbage, complete: true, credential), unauthenticated);
        await ExpectAsync(refused, _http.DeleteAsync(ietf, credential), unauthenticated);
        await ExpectAsync(refused, _http.DownloadAsync(ietf, credential), unauthenticated);
        await ExpectAsync(HttpStatusCode.NoContent, _http.OptionsAsync(ietf, credential), challenge: false);
        await ExpectAsync(HttpStatusCode.NoContent, _http.OptionsAsync($"{SecureServer.Prefix}/{Target}", credential), challenge: false);
        await ExpectTusAsync(refused, _http.TusHeadAsync(tus, credential), unauthenticated);
        await ExpectTusAsync(refused, _http.TusPatchAsync(tus, 1024, garbage[..1024], credential), unauthenticated);
        await ExpectTusAsync(refused, _http.DeleteAsync(tus, credential, tus: true), unauthenticated);
        await ExpectTusAsync(refused, _http.TusConcatAsync(Target, [partial], credential), unauthenticated);
        await ExpectAsync(refused, _http.DownloadAsync(partial, credential), unauthenticated);

        // Resumable.js: the test GET of alice's chunk 1 is the stranger's own lookup ("not have": 204), and its chunk
        // 2 starts the stranger's own upload, never alice's.
        await ExpectAsync(unauthenticated ? HttpStatusCode.Unauthorized : HttpStatusCode.NoContent, _http.ChunkTestAsync(Target, identifier, 1, Chunk, chunkFile.Length, credential), unauthenticated);
        await ExpectAsync(unauthenticated ? HttpStatusCode.Unauthorized : HttpStatusCode.OK, _http.ChunkAsync(Target, identifier, 2, Chunk, garbage[..(2 * Chunk)], credential), unauthenticated);

        // Its own creations: 401 without valid credentials, else its own uploads.
        var own = unauthenticated ? HttpStatusCode.Unauthorized : HttpStatusCode.Created;
        await ExpectAsync(own, _http.IetfCreateAsync(Target, garbage[..10], complete: true, credential), unauthenticated);
        await ExpectTusAsync(own, _http.TusCreateAsync(Target, 10, credential), unauthenticated);

        // alice's bytes are exactly hers, and hers to finish.
        await AssertOffsetAsync(ietf, 4096);
        using (var rest = await _http.IetfAppendAsync(ietf, 4096, ietfBytes[4096..], complete: true, owner))
        {
            Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        }

        Assert.Equal(SecureRequests.Sha256(ietfBytes), await DownloadShaAsync(ietf));
        Assert.Equal(HttpStatusCode.NoContent, (await _http.TusPatchAsync(tus, 1024, tusBytes[1024..], owner)).StatusCode);
        Assert.Equal(SecureRequests.Sha256(tusBytes), await DownloadShaAsync(tus));
        Assert.Equal(SecureRequests.Sha256(partialBytes), await DownloadShaAsync(partial));
        var final = SecureRequests.Location(await _http.TusConcatAsync(Target, [partial], owner));
        Assert.Equal(SecureRequests.Sha256(partialBytes), await DownloadShaAsync(final));
        using var last = await _http.ChunkAsync(Target, identifier, 2, Chunk, chunkFile, owner);
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        var location = JsonDocument.Parse(await last.Content.ReadAsStringAsync()).RootElement.GetProperty("location").GetString()!;
        Assert.Equal(SecureRequests.Sha256(chunkFile), await DownloadShaAsync(new Uri(location, UriKind.RelativeOrAbsolute).IsAbsoluteUri ? new Uri(location).PathAndQuery : location));
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync(ietf, owner)).StatusCode);

        // Every object of the target lies under a tenant's prefix: alice's under acme/, a globex stranger's under globex/.
        var root = Path.Combine(_server.FilesRoot, Target);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            Assert.True(relative.StartsWith("acme" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || relative.StartsWith("globex" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || relative.StartsWith(".staging" + Path.DirectorySeparatorChar, StringComparison.Ordinal), relative);
        }
    }

    [Fact]
    public async Task The_owner_gets_every_method()
    {
        var owner = Credential.Owner;
        var bytes = SecureRequests.Bytes(4096, 7);
        var ietf = SecureRequests.Location(await _http.IetfCreateAsync(Target, bytes[..1000], complete: false, owner));
        await AssertOffsetAsync(ietf, 1000);
        await ExpectAsync(HttpStatusCode.Conflict, _http.DownloadAsync(ietf, owner), challenge: false);
        await ExpectAsync(HttpStatusCode.OK, _http.IetfAppendAsync(ietf, 1000, bytes[1000..], complete: true, owner), challenge: false);
        Assert.Equal(SecureRequests.Sha256(bytes), await DownloadShaAsync(ietf));
        await ExpectAsync(HttpStatusCode.NoContent, _http.DeleteAsync(ietf, owner), challenge: false);
        await ExpectAsync(HttpStatusCode.Gone, _http.IetfHeadAsync(ietf, owner), challenge: false);

        var tus = SecureRequests.Location(await _http.TusCreateAsync(Target, 10, owner));
        await ExpectTusAsync(HttpStatusCode.OK, _http.TusHeadAsync(tus, owner), challenge: false);
        await ExpectTusAsync(HttpStatusCode.NoContent, _http.DeleteAsync(tus, owner, tus: true), challenge: false);

        // The API key is a principal of its own: it sees its uploads, not alice's.
        var keyed = SecureRequests.Location(await _http.IetfCreateAsync(Target, bytes, complete: true, Credential.ApiKey));
        Assert.Equal(SecureRequests.Sha256(bytes), await DownloadShaAsync(keyed, Credential.ApiKey));
        await ExpectAsync(HttpStatusCode.NotFound, _http.DownloadAsync(keyed, owner), challenge: false);
    }

    [Theory]
    [InlineData(Credential.OtherTenant, HttpStatusCode.Forbidden)]
    [InlineData(Credential.Owner, HttpStatusCode.Created)]
    [InlineData(Credential.ApiKey, HttpStatusCode.Created)]
    [InlineData(Credential.None, HttpStatusCode.Unauthorized)]
    public async Task Required_claims_keep_other_tenants_off_the_target(Credential credential, HttpStatusCode expected)
    {
        await ExpectAsync(expected, _http.IetfCreateAsync("acme", [1, 2, 3], complete: true, credential), expected == HttpStatusCode.Unauthorized);
        await ExpectTusAsync(expected, _http.TusCreateAsync("acme", 3, credential), expected == HttpStatusCode.Unauthorized);
        var file = SecureRequests.Bytes(Chunk, 5);
        await ExpectAsync(expected == HttpStatusCode.Created ? HttpStatusCode.OK : expected, _http.ChunkAsync("acme", "x-1", 1, Chunk, file, credential), expected == HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task An_anonymous_target_serves_requests_without_credentials()
    {
        var bytes = SecureRequests.Bytes(100, 8);
        var open = SecureRequests.Location(await _http.IetfCreateAsync("open", bytes, complete: true, Credential.None));
        Assert.Equal(SecureRequests.Sha256(bytes), await DownloadShaAsync(open, Credential.None));
        await ExpectAsync(HttpStatusCode.NoContent, _http.DeleteAsync(open, Credential.None), challenge: false);
    }

    private async Task AssertOffsetAsync(string url, long offset)
    {
        using var head = await _http.IetfHeadAsync(url, Credential.Owner);
        Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
        Assert.Equal(offset.ToString(System.Globalization.CultureInfo.InvariantCulture), head.Headers.GetValues("Upload-Offset").Single());
    }

    private async Task<string> DownloadShaAsync(string url, Credential credential = Credential.Owner)
    {
        using var response = await _http.DownloadAsync(url, credential);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return SecureRequests.Sha256(await response.Content.ReadAsByteArrayAsync());
    }

    private static async Task ExpectAsync(HttpStatusCode expected, Task<HttpResponseMessage> sending, bool challenge)
    {
        using var response = await sending;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode} {body}");
        if (challenge)
        {
            Assert.NotEmpty(response.Headers.WwwAuthenticate);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
    }

    private static async Task ExpectTusAsync(HttpStatusCode expected, Task<HttpResponseMessage> sending, bool challenge)
    {
        using var response = await sending;
        Assert.True(expected == response.StatusCode, $"expected {(int)expected}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal(SecureRequests.Tus, response.Headers.GetValues("Tus-Resumable").Single());

        if (challenge)
        {
            Assert.NotEmpty(response.Headers.WwwAuthenticate);
        }
    }
}
