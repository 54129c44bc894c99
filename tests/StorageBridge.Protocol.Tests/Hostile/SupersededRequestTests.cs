using System.Net;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Hostile.HostileRequests;

namespace StorageBridge.Protocol.Tests.Hostile;

/// <summary>
/// Issue 11 item 7: a request that a newer one for the same upload supersedes never answers 2xx unless all of its body
/// was stored; it answers 409 with the offset the upload has (IETF: a problem body; tus: Upload-Offset).
/// </summary>
[Collection(HostileServerCollection.Name)]
public sealed class SupersededRequestTests(HostileServerFixture server)
{
    private HttpClient Client => server.Client;

    [Fact]
    public async Task Ietf_append_superseded_midway_answers_409_with_the_offset_it_stored()
    {
        var data = TestData.Random(200_000, seed: 71);
        var location = await Client.CreateAsync("default", null);

        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(Concat(IetfPatchHead(location, 0, data.Length), data[..50_000]));
        await Task.Delay(500);
        var offset = await Client.OffsetAsync(location); // the HEAD takes over: the PATCH stores what it has

        var final = (await slow.ReadExchangeAsync()).Final;
        Assert.Equal(409, final.StatusCode);
        Assert.Equal("application/problem+json", final.Header("Content-Type"));
        Assert.Equal(I(offset), final.Header("Upload-Offset"));
        Assert.NotEqual("?1", final.Header("Upload-Complete"));
        Assert.Equal(I(offset), I(await Client.OffsetAsync(location)));
        await CompleteAndVerifyAsync(Client, location, data);
    }

    [Fact]
    public async Task Ietf_append_superseded_before_its_body_answers_409_and_the_newer_one_succeeds()
    {
        var data = TestData.Random(10_000, seed: 72);
        var location = await Client.CreateAsync("default", null);

        await using var first = await RawHttpConnection.ConnectAsync(server.Port);
        await first.SendAsync(IetfPatchHead(location, 0, data.Length));
        await Task.Delay(500);

        using (var newer = await Client.AppendAsync(location, 0, complete: false, data))
        {
            Assert.Equal(HttpStatusCode.NoContent, newer.StatusCode);
            Assert.Equal(data.Length, IetfProtocol.LongHeader(newer, "Upload-Offset"));
        }

        var final = (await first.ReadExchangeAsync()).Final;
        Assert.Equal(409, final.StatusCode);
        Assert.NotNull(final.Header("Upload-Offset"));
        await CompleteAndVerifyAsync(Client, location, data);
    }

    [Fact]
    public async Task Tus_append_superseded_midway_answers_409_with_Upload_Offset()
    {
        var data = TestData.Random(200_000, seed: 73);
        using var create = Tus.TusProtocol.Creation("default", data.Length);
        using var created = await Client.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = IetfProtocol.Location(created);

        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(Concat(TusPatchHead(location, 0, data.Length), data[..50_000]));
        await Task.Delay(500);
        long offset;
        using (var head = await Client.SendAsync(Tus.TusProtocol.Request(HttpMethod.Head, location)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            offset = IetfProtocol.LongHeader(head, "Upload-Offset")!.Value;
        }

        var final = (await slow.ReadExchangeAsync()).Final;
        Assert.Equal(409, final.StatusCode);
        Assert.Equal("1.0.0", final.Header("Tus-Resumable"));
        Assert.Equal(I(offset), final.Header("Upload-Offset"));

        using var rest = await Client.SendAsync(Tus.TusProtocol.Patch(location, offset, data[(int)offset..]));
        Assert.Equal(HttpStatusCode.NoContent, rest.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }
}
