using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using StorageBridge.Tests;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// Issue 11 item 11 with the real libraries in Chromium: a second client that guessed the identifier (the libraries'
/// default size-name) stores its own chunk 1 first, over raw HTTP; Resumable.js 1.1.0 and Flow.js 2.14.1 then upload
/// the real file. The server refuses the differing chunk with 400 (in Resumable.js's permanentErrors; Flow.js fails a
/// chunk on any non-success status once maxChunkRetries, 0 by default, is used up), the library stops, and the upload
/// never completes with the other client's bytes. testChunks is off here: with it on, an anonymous target answers the
/// library's test GET for chunk 1 "stored" with the guesser's chunk (per-principal lookups close that for
/// authenticated targets).
/// </summary>
[Collection(BrowserSecurityCollection.Name)]
public sealed partial class ChunkHijackBrowserTests(BrowserSecurityFixture fixture, ITestOutputHelper output)
{
    private const int ChunkSize = 256 * 1024;
    private const int ChunkCount = 4;
    private const int Size = ChunkSize * ChunkCount;
    private const int TestTimeoutMs = 120_000;

    [Theory(Timeout = TestTimeoutMs)]
    [InlineData("resumable")]
    [InlineData("flow")]
    public async Task Library_stops_on_the_refused_chunk_and_the_upload_never_completes(string client)
    {
        using var cts = new CancellationTokenSource(TestTimeoutMs - 5_000);
        var name = $"report-{client}-{Guid.NewGuid():N}.pdf";
        var path = fixture.Root.Combine("sources", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await DeterministicData.WriteFileAsync(path, 0x5EED, Size, cts.Token);
        var owner = await File.ReadAllBytesAsync(path, cts.Token);
        var intruder = (byte[])owner.Clone();
        intruder[0] ^= 0xFF;

        // The libraries' default identifier: size-name with everything but [0-9a-zA-Z_-] removed.
        var identifier = $"{Size}-{NotIdentifier().Replace(name, "")}";
        var url = new Uri(fixture.Bridge, "uploads/open").ToString();
        var fields = ResumableChunks.Fields(client, identifier, 1, ChunkSize, Size, name);
        using (var guess = ResumableChunks.Chunk(url, fields, intruder.AsMemory(0, ChunkSize), ChunkMode.Multipart))
        using (var stored = await fixture.Client.SendAsync(guess, cts.Token))
        {
            Assert.False((await ResumableChunks.AnswerAsync(stored)).Complete);
        }

        var completed = fixture.CompletedOn("open");
        await using var browser = await BrowserDriver.LaunchAsync(output.WriteLine, cts.Token);
        await browser.OpenAsync(new Uri($"{fixture.AllowedOrigin}/page/index.html"), cts.Token);
        await browser.AddFilesAsync([path], cts.Token);
        var options = new JsonObject
        {
            ["endpoint"] = url,
            ["chunkSize"] = ChunkSize,
            ["simultaneousUploads"] = 1,
            ["testChunks"] = false,
        };
        var run = await browser.RunClientAsync(client, options, TimeSpan.FromSeconds(60), cts.Token);
        output.WriteLine($"{client}: {run}");

        Assert.False(run.Ok, run.ToString());
        Assert.Equal([400], run.Statuses);
        Assert.Contains("differs", run.Error, StringComparison.Ordinal);
        var requests = await browser.TakeRequestsAsync(cts.Token);
        // One chunk POST (Resumable.js puts its fields in the query too, Flow.js in the form only), no retry.
        Assert.Single(requests, r => r.StartsWith("POST /uploads/open", StringComparison.Ordinal));

        // Chunk 1 holds the guesser's bytes, no other chunk arrived, and nothing completed.
        Assert.Equal(completed, fixture.CompletedOn("open"));
        for (var number = 1; number <= ChunkCount; number++)
        {
            var test = url + "?" + ResumableChunks.Query(ResumableChunks.Fields(client, identifier, number, ChunkSize, Size, name));
            using var answer = await fixture.Client.GetAsync(test, cts.Token);
            Assert.Equal(number == 1 ? HttpStatusCode.OK : HttpStatusCode.NoContent, answer.StatusCode);
        }
    }

    [GeneratedRegex("[^0-9a-zA-Z_-]")]
    private static partial Regex NotIdentifier();
}
