using System.Net;
using System.Text.Json;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>
/// Issue 11's testChunks hole, over raw HTTP: Resumable.js/Flow.js identifiers are guessable (size-name), so another
/// principal can store "chunk 1" of a file before its owner. With per-principal lookups the owner's test GET is its
/// own ("not have": 204), and the owner's upload completes with its own bytes.
/// </summary>
public sealed class ChunkLookupTests : IAsyncLifetime
{
    private const int Chunk = 1024;

    private SecureServer _server = null!;
    private SecureRequests _http = null!;

    public async Task InitializeAsync()
    {
        _server = await SecureServer.StartAsync();
        _http = new SecureRequests(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_guessed_identifier_gives_the_intruder_its_own_upload_only()
    {
        var alice = SecureRequests.Bytes(3 * Chunk, 21);
        var intruder = SecureRequests.Bytes(3 * Chunk, 22);
        var identifier = $"{alice.Length}-report.pdf";

        // Principal B (another tenant's token) first: chunk 1 of the guessed identifier, stored.
        using (var first = await _http.ChunkAsync("shared", identifier, 1, Chunk, intruder, Credential.OtherTenant))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var theirs = await _http.ChunkTestAsync("shared", identifier, 1, Chunk, intruder.Length, Credential.OtherTenant))
        {
            Assert.Equal(HttpStatusCode.OK, theirs.StatusCode);
        }

        // Principal A's test GET is its own lookup: not have.
        using (var test = await _http.ChunkTestAsync("shared", identifier, 1, Chunk, alice.Length, Credential.Owner))
        {
            Assert.Equal(HttpStatusCode.NoContent, test.StatusCode);
        }

        string? location = null;
        foreach (var number in new[] { 1, 2, 3 })
        {
            using var response = await _http.ChunkAsync("shared", identifier, number, Chunk, alice, Credential.Owner);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"chunk {number}: {(int)response.StatusCode} {text}");
            var json = JsonDocument.Parse(text).RootElement;
            if (json.GetProperty("complete").GetBoolean())
            {
                location = json.GetProperty("location").GetString();
            }
        }

        Assert.NotNull(location);
        var path = Uri.TryCreate(location, UriKind.Absolute, out var absolute) ? absolute.PathAndQuery : location;
        using var download = await _http.DownloadAsync(path, Credential.Owner);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(SecureRequests.Sha256(alice), SecureRequests.Sha256(await download.Content.ReadAsByteArrayAsync()));
        using var stranger = await _http.DownloadAsync(path, Credential.OtherTenant);
        Assert.Equal(HttpStatusCode.NotFound, stranger.StatusCode);
    }
}
