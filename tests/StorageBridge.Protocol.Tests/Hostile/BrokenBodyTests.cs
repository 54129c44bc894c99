using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Hostile.HostileRequests;

namespace StorageBridge.Protocol.Tests.Hostile;

/// <summary>
/// Bodies that break: bytes that arrive together with the client's FIN (issue 11 item 17), bad chunked framing
/// (item 15), broken multipart bodies and bodies that stall past Kestrel's data rate (item 14).
/// </summary>
[Collection(HostileServerCollection.Name)]
public sealed class BrokenBodyTests(HostileServerFixture server)
{
    private HttpClient Client => server.Client;

    [Theory]
    [InlineData(2_000_000)]
    [InlineData(300_000)]
    [InlineData(1_048_576)]
    public async Task Bytes_that_arrive_with_the_clients_FIN_are_all_kept(int sent)
    {
        var data = TestData.Random(3_000_000, seed: sent);
        var location = await Client.CreateAsync("default", null);

        // One burst: head, part of the body, then FIN (the client half-closes; it never sends the rest).
        await using (var connection = await RawHttpConnection.ConnectAsync(server.Port))
        {
            await connection.SendAsync(Concat(IetfPatchHead(location, 0, data.Length, complete: true), data[..sent]));
            connection.ShutdownSend();

            // Ask only once the server has seen the FIN (it closes the connection then): an earlier request for the
            // upload would take over from a client that still looks present, and stop its reading at once.
            Assert.True(await connection.WaitForServerCloseAsync());
            var kept = await OffsetOnceSettledAsync(Client, location, sent);
            Assert.True(kept == sent, $"kept {kept}\n" + string.Join("\n", server.StorageBridgeErrors));
        }

        Assert.Empty(server.StorageBridgeErrors);

        await CompleteAndVerifyAsync(Client, location, data);
    }

    public static TheoryData<string, string> BadFraming() => new()
    {
        { "garbage-size", "zz\r\nhello\r\n0\r\n\r\n" },
        { "negative-size", "-5\r\nhello\r\n0\r\n\r\n" },
        { "over-long-size", "fffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n" },
        { "missing-chunk-terminator", "5\r\nhelloXX0\r\n\r\n" },
        { "size-line-without-crlf", "5 hello\r\n0\r\n\r\n" },
    };

    [Theory]
    [MemberData(nameof(BadFraming))]
    public async Task Bad_chunked_framing_answers_400_and_the_upload_resumes(string name, string framing)
    {
        var data = TestData.Random(5000, seed: name.Length);
        var location = await Client.CreateAsync("default", null);

        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        var firstChunk = Concat(Ascii("3e8\r\n"), data[..1000], Ascii("\r\n"));
        await connection.SendAsync(Concat(IetfPatchHead(location, 0, null, chunked: true), firstChunk, Ascii(framing)));
        var response = (await connection.ReadExchangeAsync()).Final;

        Assert.True(response.StatusCode == 400, response.ToString() + response.BodyText);
        var offset = await Client.OffsetAsync(location);
        if (response.Header("Upload-Offset") is { } said)
        {
            // What the refusal says was stored is what HEAD reports (the valid prefix may be kept).
            Assert.Equal(I(offset), said);
        }

        await CompleteAndVerifyAsync(Client, location, data);
    }

    [Fact]
    public async Task Bad_chunked_framing_on_a_tus_append_answers_400_with_Tus_Resumable()
    {
        var data = TestData.Random(3000, seed: 15);
        using var create = Tus.TusProtocol.Creation("default", data.Length);
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = IetfProtocol.Location(created);

        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(Concat(TusPatchHead(location, 0, null, chunked: true), Ascii("zz\r\nhello\r\n0\r\n\r\n")));
        var response = (await connection.ReadExchangeAsync()).Final;

        Assert.Equal(400, response.StatusCode);
        Assert.Equal("1.0.0", response.Header("Tus-Resumable"));
    }

    public static TheoryData<string> BrokenMultipart() => ["garbage", "empty", "boundary-mismatch", "missing-closing-boundary", "truncated-headers"];

    [Theory]
    [MemberData(nameof(BrokenMultipart))]
    public async Task Broken_multipart_chunk_answers_400_and_the_file_still_completes(string name)
    {
        const int total = 3000;
        const int chunkSize = 1000;
        var file = TestData.Random(total, seed: 140 + name.Length);
        var identifier = $"{total}-{name}-{Guid.NewGuid():N}";
        var url = $"{HostileServerFixture.Prefix}/default";
        var fields = ResumableChunks.Fields("resumable", identifier, 1, chunkSize, total, "broken.bin");

        var body = name switch
        {
            "garbage" => Ascii("this is not a multipart body at all"),
            "empty" => [],
            "boundary-mismatch" => Concat(Ascii("--OTHER\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\r\n"), file[..chunkSize], Ascii("\r\n--OTHER--\r\n")),
            "missing-closing-boundary" => Concat(Ascii("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n\r\n"), file[..chunkSize], Ascii("\r\n")),
            "truncated-headers" => Ascii("--XYZ\r\nContent-Disposition: form-data; name=\"file\""),
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };
        using (var request = new HttpRequestMessage(HttpMethod.Post, url + "?" + ResumableChunks.Query(fields)) { Content = new ByteArrayContent(body) })
        {
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=XYZ");
            using var response = await Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.False(string.IsNullOrWhiteSpace(await response.Content.ReadAsStringAsync()), "a refusal says why");
        }

        var answer = await ResumableChunks.UploadAsync(Client, url.TrimStart('/'), file, chunkSize, new ChunkUploadOptions { Identifier = identifier, FileName = "broken.bin" });
        Assert.True(answer.Complete);
        Assert.Equal(TestData.Sha256Hex(file), TestData.Sha256Hex(await Client.GetByteArrayAsync(answer.Location.TrimStart('/') + "/content")));
    }

    [Fact]
    public async Task Resumable_chunk_body_that_stalls_answers_408()
    {
        const int total = 4000;
        var identifier = $"{total}-stall-{Guid.NewGuid():N}";
        var fields = ResumableChunks.Fields("resumable", identifier, 1, 2000, total, "stall.bin");
        var file = TestData.Random(total, seed: 141);

        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(Concat(
            RawHttpConnection.Head("POST", $"{HostileServerFixture.Prefix}/default?{ResumableChunks.Query(fields)}", "Content-Type: application/octet-stream", "Content-Length: 2000"),
            file[..500]));

        // Nothing more is sent: Kestrel's minimum data rate (2 s grace in this fixture) ends the body.
        var response = (await connection.ReadExchangeAsync(timeout: TimeSpan.FromSeconds(20))).Final;
        Assert.Equal(408, response.StatusCode);
    }

    [Fact]
    public async Task Ietf_append_body_that_stalls_is_refused_with_408_and_keeps_what_arrived()
    {
        var data = TestData.Random(4000, seed: 142);
        var location = await Client.CreateAsync("default", null);

        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(Concat(IetfPatchHead(location, 0, data.Length), data[..500]));
        var response = (await connection.ReadExchangeAsync(timeout: TimeSpan.FromSeconds(20))).Final;

        Assert.Equal(408, response.StatusCode);
        Assert.Equal(500, await Client.OffsetAsync(location));
        await CompleteAndVerifyAsync(Client, location, data);
    }
}
