using System.Globalization;
using System.Security.Cryptography;
using StorageBridge.Tests.Support;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// 104 progress responses (interop 8): while a creation or append streams, the durable offset goes out as
/// <c>Upload-Offset</c>. The file backend records its in-place writes every 8 MiB, so a 9 MiB body records once
/// mid-request; the body pauses after that point so the server's rate limit (a few per second) lets one through.
/// Read off a raw socket: HttpClient swallows 1xx responses.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class ProgressResponseTests(IetfServerFixture server)
{
    private const int Size = (9 * 1024 * 1024) + 1;
    private const int BeforePause = (8 * 1024 * 1024) + (512 * 1024);

    private async Task<string> CreateEmptyAsync(string target, int version)
    {
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(RawHttpConnection.Head(
            "POST", $"/uploads/{target}", $"Upload-Draft-Interop-Version: {version}", "Upload-Complete: ?0", "Content-Length: 0"));
        var responses = await connection.ReadUntilFinalAsync();
        Assert.Equal(201, responses[^1].StatusCode);
        return responses[^1].Header("Location")!;
    }

    /// <summary>Sends the head, the body up to past the first recorded 8 MiB, pauses, sends the rest; returns every response.</summary>
    private async Task<List<RawHttpMessage>> SendPausedAsync(string method, string path, byte[] body, params string[] headers)
    {
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(RawHttpConnection.Head(method, path, [.. headers, $"Content-Length: {body.Length}"]));
        await connection.SendAsync(body.AsMemory(0, BeforePause));
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        await connection.SendAsync(body.AsMemory(BeforePause));
        return await connection.ReadUntilFinalAsync(timeout: TimeSpan.FromSeconds(60));
    }

    private static void AssertProgress(IReadOnlyList<RawHttpMessage> progress, long final)
    {
        Assert.NotEmpty(progress);
        var previous = 0L;
        foreach (var response in progress)
        {
            Assert.Equal("Upload Resumption Supported", response.ReasonPhrase);
            Assert.Equal("8", response.Header("Upload-Draft-Interop-Version"));
            var offset = long.Parse(response.Header("Upload-Offset")!, CultureInfo.InvariantCulture);
            Assert.InRange(offset, previous + 1, final);
            previous = offset;
        }
    }

    [Fact]
    public async Task Append_with_content_gets_104_with_the_durable_offset_and_no_location()
    {
        var location = await CreateEmptyAsync("default", 8);
        var body = TestData.Random(Size, seed: 21);

        var responses = await SendPausedAsync(
            "PATCH", location, body, "Upload-Draft-Interop-Version: 8", "Upload-Offset: 0", "Upload-Complete: ?0", "Content-Type: application/partial-upload");

        Assert.Equal(204, responses[^1].StatusCode);
        Assert.Equal(Size.ToString(CultureInfo.InvariantCulture), responses[^1].Header("Upload-Offset"));
        var progress = responses.Where(r => r.StatusCode == 104).ToList();
        Assert.Equal(responses.Count - 1, progress.Count);
        Assert.All(progress, r => Assert.Null(r.Header("Location")));
        AssertProgress(progress, Size);
    }

    [Fact]
    public async Task Creation_with_content_gets_progress_after_the_resumption_104_with_the_same_location()
    {
        var body = TestData.Random(Size, seed: 22);

        var responses = await SendPausedAsync("POST", "/uploads/default", body, "Upload-Draft-Interop-Version: 8", "Upload-Complete: ?1");

        Assert.Equal(201, responses[^1].StatusCode);
        var location = responses[^1].Header("Location");
        var interim = responses.Where(r => r.StatusCode == 104).ToList();
        Assert.Null(interim[0].Header("Upload-Offset"));
        Assert.All(interim, r => Assert.Equal(location, r.Header("Location")));
        AssertProgress(interim[1..], Size);
        using var download = await server.Client.GetAsync(location + "/content");
        Assert.Equal(SHA256.HashData(body), SHA256.HashData(await download.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task No_progress_on_a_target_with_interim_responses_off()
    {
        var location = await CreateEmptyAsync("no104", 8);
        var body = TestData.Random(Size, seed: 23);

        var responses = await SendPausedAsync(
            "PATCH", location, body, "Upload-Draft-Interop-Version: 8", "Upload-Offset: 0", "Upload-Complete: ?1", "Content-Type: application/partial-upload");

        var final = Assert.Single(responses);
        Assert.Equal(200, final.StatusCode);
    }

    [Theory]
    [InlineData(7)]
    [InlineData(5)]
    public async Task No_progress_before_interop_8(int version)
    {
        var location = await CreateEmptyAsync("default", version);
        var body = TestData.Random(Size, seed: 24);
        string[] headers = version >= 6
            ? [$"Upload-Draft-Interop-Version: {version}", "Upload-Offset: 0", "Upload-Complete: ?0", "Content-Type: application/partial-upload"]
            : [$"Upload-Draft-Interop-Version: {version}", "Upload-Offset: 0", "Upload-Complete: ?0"];

        var responses = await SendPausedAsync("PATCH", location, body, headers);

        var final = Assert.Single(responses);
        Assert.Equal(204, final.StatusCode);
    }
}
