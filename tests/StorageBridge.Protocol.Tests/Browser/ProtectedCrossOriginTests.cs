using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// The real browser clients against a protected target (API keys) from another origin: the preflight admits the
/// X-Api-Key header without credentials, every request then authenticates, and the object is byte-exact. With two
/// principals, the Resumable.js/Flow.js testChunks hole of an anonymous target is closed: a chunk another principal
/// stored under a guessed identifier is in that principal's lookup, not the owner's, so the owner's test GET answers
/// "not stored", its library sends its own chunk, and the upload completes with the owner's bytes.
/// </summary>
[Collection(BrowserSecurityCollection.Name)]
public sealed partial class ProtectedCrossOriginTests(BrowserSecurityFixture fixture, ITestOutputHelper output)
{
    private const int ChunkSize = 256 * 1024;
    private const int ChunkCount = 4;
    private const int Size = ChunkSize * ChunkCount;
    private const int TestTimeoutMs = 120_000;
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public static TheoryData<string, string> Clients => new()
    {
        { "tus", "tus-v1" },
        { "tus", "ietf-draft-05" },
        { "uppy", "tus-v1" },
        { "resumable", "resumable" },
        { "flow", "flow" },
    };

    [Theory(Timeout = TestTimeoutMs)]
    [MemberData(nameof(Clients))]
    public async Task Client_with_an_api_key_uploads_byte_exact_from_the_allowed_origin(string client, string protocol)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var (path, name) = await SourceAsync($"keyed-{client}-{protocol}", cts.Token);
        var options = Options(client, BrowserSecurityFixture.AliceKey);
        if (client == "tus")
        {
            options["protocol"] = protocol;
        }

        var run = await RunAsync(client, path, options, cts.Token);

        Assert.True(run.Ok, run.ToString());
        Assert.Equal(Sha256(await File.ReadAllBytesAsync(path, cts.Token)), await DownloadShaAsync(run, BrowserSecurityFixture.AliceKey, cts.Token));
        Assert.DoesNotContain(401, run.Statuses);
        output.WriteLine($"{name}: {run}");
    }

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("resumable")]
    [InlineData("flow")]
    public async Task Chunk_a_guesser_stored_does_not_answer_the_owners_test_and_the_owners_bytes_complete(string client)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var (path, name) = await SourceAsync($"guessed-{client}", cts.Token);
        var owner = await File.ReadAllBytesAsync(path, cts.Token);
        var intruder = (byte[])owner.Clone();
        intruder[0] ^= 0xFF;

        // Mallory stores her chunk 1 under the libraries' default identifier (size-name), as she would on an
        // anonymous target: on a protected one it goes into her own lookup.
        var identifier = $"{Size}-{NotIdentifier().Replace(name, "")}";
        var url = Endpoint;
        var fields = ResumableChunks.Fields(client, identifier, 1, ChunkSize, Size, name);
        using (var guess = ResumableChunks.Chunk(url, fields, intruder.AsMemory(0, ChunkSize), ChunkMode.Multipart))
        {
            guess.Headers.Add("X-Api-Key", BrowserSecurityFixture.MalloryKey);
            using var stored = await fixture.Client.SendAsync(guess, cts.Token);
            Assert.False((await ResumableChunks.AnswerAsync(stored)).Complete);
        }

        var options = Options(client, BrowserSecurityFixture.AliceKey);
        options["testChunks"] = true;
        var run = await RunAsync(client, path, options, cts.Token);

        Assert.True(run.Ok, run.ToString());
        Assert.Equal(Sha256(owner), await DownloadShaAsync(run, BrowserSecurityFixture.AliceKey, cts.Token));
        // Alice's upload is hers alone: Mallory's key does not find it.
        using var foreign = new HttpRequestMessage(HttpMethod.Get, run.Url + "/content");
        foreign.Headers.Add("X-Api-Key", BrowserSecurityFixture.MalloryKey);
        using var refused = await fixture.Client.SendAsync(foreign, cts.Token);
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
    }

    private string Endpoint => new Uri(fixture.Bridge, "uploads/keyed").ToString();

    private JsonObject Options(string client, string key)
    {
        var options = new JsonObject
        {
            ["endpoint"] = Endpoint,
            ["chunkSize"] = ChunkSize,
            ["headers"] = new JsonObject { ["X-Api-Key"] = key },
        };
        if (client is "resumable" or "flow")
        {
            options["simultaneousUploads"] = 1;
        }

        return options;
    }

    private async Task<ClientRun> RunAsync(string client, string path, JsonObject options, CancellationToken cancellationToken)
    {
        await using var browser = await BrowserDriver.LaunchAsync(output.WriteLine, cancellationToken);
        await browser.OpenAsync(new Uri($"{fixture.AllowedOrigin}/page/index.html"), cancellationToken);
        await browser.AddFilesAsync([path], cancellationToken);
        return await browser.RunClientAsync(client, options, RunTimeout, cancellationToken);
    }

    private async Task<string> DownloadShaAsync(ClientRun run, string key, CancellationToken cancellationToken)
    {
        Assert.NotNull(run.Url);
        using var request = new HttpRequestMessage(HttpMethod.Get, run.Url + "/content");
        request.Headers.Add("X-Api-Key", key);
        using var download = await fixture.Client.SendAsync(request, cancellationToken);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        return Sha256(await download.Content.ReadAsByteArrayAsync(cancellationToken));
    }

    private async Task<(string Path, string Name)> SourceAsync(string stem, CancellationToken cancellationToken)
    {
        var name = $"{stem}-{Guid.NewGuid():N}.bin";
        var path = fixture.Root.Combine("sources", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await DeterministicData.WriteFileAsync(path, (ulong)name.GetHashCode(StringComparison.Ordinal), Size, cancellationToken);
        return (path, name);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [GeneratedRegex("[^0-9a-zA-Z_-]")]
    private static partial Regex NotIdentifier();
}
