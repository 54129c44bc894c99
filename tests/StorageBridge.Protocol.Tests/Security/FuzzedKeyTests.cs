using System.Net;
using System.Text;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// Generated hostile file names and metadata (traversal, absolute paths, unicode, control characters, 10 KB names) and
/// hostile tenant claims (a '/', '..', empty) through all three protocols: every object lands under the target's root,
/// under the creating tenant's prefix, and nothing appears outside the root. A claim that is no safe path segment is
/// refused (403) before anything is written.
/// </summary>
public sealed class FuzzedKeyTests : IAsyncLifetime
{
    private SecureServer _server = null!;
    private SecureRequests _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SecureServer.StartAsync();
        _http = new SecureRequests(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static IEnumerable<string> HostileNames()
    {
        yield return "../../../../etc/passwd";
        yield return "..\\..\\windows\\system32";
        yield return "/etc/shadow";
        yield return "C:\\boot.ini";
        yield return "..";
        yield return ".";
        yield return "a/../../b";
        yield return "%2e%2e%2f%2e%2e%2f";
        yield return "名前/../../ファイル.txt";
        yield return "e\u0301\u202Egnp.exe";
        yield return "line\r\nbreak\0nul\t\u0007";
        yield return "{claim:tenant}/../{id}";
        yield return "{id}/../../x";
        yield return new string('A', 10 * 1024);
        yield return string.Concat(Enumerable.Repeat("../", 3000));
        var random = new Random(1313);
        for (var i = 0; i < 40; i++)
        {
            var builder = new StringBuilder();
            var length = random.Next(1, 300);
            for (var c = 0; c < length; c++)
            {
                builder.Append(random.Next(6) switch
                {
                    0 => '/',
                    1 => '.',
                    2 => '\\',
                    3 => (char)random.Next(0, 32),
                    4 => (char)random.Next(0x80, 0xD7FF),
                    _ => (char)random.Next(0x20, 0x7F),
                });
            }

            yield return builder.ToString();
        }
    }

    [Fact]
    public async Task Hostile_names_never_leave_the_tenant_prefix()
    {
        var content = Encoding.UTF8.GetBytes("payload");
        var index = 0;
        foreach (var name in HostileNames())
        {
            index++;
            var credential = index % 2 == 0 ? Credential.Owner : Credential.ApiKey;
            using (var tus = await _http.TusCreateAsync("shared", 0, credential, fileName: name))
            {
                Assert.True(tus.StatusCode is HttpStatusCode.Created or HttpStatusCode.BadRequest, $"tus '{Printable(name)}': {(int)tus.StatusCode}");
            }

            if (IsHeaderSafe(name))
            {
                using var ietf = await _http.IetfCreateAsync("shared", content, complete: true, credential, fileName: name);
                Assert.True(ietf.StatusCode is HttpStatusCode.Created or HttpStatusCode.BadRequest, $"ietf '{Printable(name)}': {(int)ietf.StatusCode}");
            }

            if (name.Length < 2000)
            {
                using var chunk = await _http.ChunkAsync("shared", $"id-{index}", 1, 1024, content, credential, fileName: name);
                Assert.True(chunk.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadRequest, $"chunk '{Printable(name)}': {(int)chunk.StatusCode}");
            }
        }

        AssertEverythingUnder(Path.Combine(_server.FilesRoot, "shared"), "acme");
    }

    [Theory]
    [InlineData("../globex")]
    [InlineData("acme/../globex")]
    [InlineData("/abs")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("")]
    [InlineData("a\\b")]
    [InlineData("tenant\u0000")]
    [InlineData("ünïcode")]
    public async Task A_tenant_claim_that_is_no_safe_segment_is_refused(string tenant)
    {
        var token = _server.Tokens.Jwt("mallory", tenant);
        foreach (var protocol in new[] { "ietf", "tus", "chunk" })
        {
            using var request = protocol switch
            {
                "tus" => Tus(),
                "chunk" => StorageBridge.Tests.ResumableChunks.Chunk(
                    $"{SecureServer.Prefix}/shared", StorageBridge.Tests.ResumableChunks.Fields("resumable", "x", 1, 1024, 3, "f"), new byte[] { 1, 2, 3 }, StorageBridge.Tests.ChunkMode.Octet),
                _ => Ietf(),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await _server.Client.SendAsync(request);
            Assert.True(HttpStatusCode.Forbidden == response.StatusCode, $"{protocol}: {(int)response.StatusCode}");
        }

        // A token without the claim at all is refused the same way.
        using var missing = Ietf();
        missing.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _server.Tokens.Jwt("mallory", tenant: null));
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Client.SendAsync(missing)).StatusCode);
        Assert.False(Directory.Exists(Path.Combine(_server.FilesRoot, "shared")) && Directory.EnumerateFiles(Path.Combine(_server.FilesRoot, "shared"), "*", SearchOption.AllDirectories).Any());

        static HttpRequestMessage Ietf()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"{SecureServer.Prefix}/shared") { Content = new ByteArrayContent([1, 2, 3]) };
            request.Headers.Add("Upload-Draft-Interop-Version", "8");
            request.Headers.Add("Upload-Complete", "?1");
            return request;
        }

        static HttpRequestMessage Tus()
        {
            var request = new HttpRequestMessage(HttpMethod.Post, $"{SecureServer.Prefix}/shared") { Content = new ByteArrayContent([]) };
            request.Headers.Add("Tus-Resumable", SecureRequests.Tus);
            request.Headers.Add("Upload-Length", "3");
            return request;
        }
    }

    /// <summary>Every file under the target root is in the tenant's folder (or the staging folder); nothing beside the root.</summary>
    private void AssertEverythingUnder(string targetRoot, string tenant)
    {
        var files = Directory.EnumerateFiles(targetRoot, "*", SearchOption.AllDirectories).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(targetRoot, Path.GetFullPath(file));
            Assert.True(
                relative.StartsWith(tenant + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || relative.StartsWith(".staging" + Path.DirectorySeparatorChar, StringComparison.Ordinal),
                Printable(relative));
        }

        // Beside the files root only the metadata database exists; beside the target roots only the targets.
        Assert.All(Directory.EnumerateFileSystemEntries(_server.Root.Path), entry =>
            Assert.Contains(Path.GetFileName(entry), new[] { "files", "metadata.db", "metadata.db-wal", "metadata.db-shm" }));
        Assert.All(Directory.EnumerateFileSystemEntries(_server.FilesRoot), entry =>
            Assert.Contains(Path.GetFileName(entry), new[] { "shared", "acme", "open" }));
        Assert.Equal(["acme"], Directory.EnumerateDirectories(targetRoot).Select(Path.GetFileName).Where(n => n != ".staging"));
    }

    private static bool IsHeaderSafe(string value) => value.All(c => c is >= ' ' and <= '~' || c > '\u00A0');

    private static string Printable(string value) =>
        value.Length > 80 ? Escape(value[..80]) + $"...({value.Length})" : Escape(value);

    private static string Escape(string value) => string.Concat(value.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
