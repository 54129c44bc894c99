using System.Net;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Common.WireRequests;

namespace StorageBridge.Protocol.Tests.Common;

/// <summary>
/// Scenarios both offset-based protocols share, written once and run under each (IETF interop 8 and tus 1.0.0) with
/// each protocol's exact status codes and headers. Version-by-version IETF behaviour and tus-only extensions stay in
/// the Ietf and Tus folders.
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class UploadScenarioTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    private string ObjectFile(string target, string location) => Path.Combine(server.TargetRoot(target), IetfProtocol.IdOf(location));

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task An_upload_in_several_appends_is_stored_byte_exact(WireProtocol protocol)
    {
        var data = TestData.Random(10_000);
        var location = await Client.CreateAsync(protocol, "default", data.Length, data[..1000]);
        Assert.Equal(1000, await Client.OffsetAsync(protocol, location));

        foreach (var (from, to) in new[] { (1000, 1001), (1001, 6000), (6000, 10_000) })
        {
            var last = to == data.Length;
            using var response = await Client.SendAsync(Append(protocol, location, from, data[from..to], last));
            Assert.Equal(AppendOk(protocol, last), response.StatusCode);
            Assert.Equal(to, IetfProtocol.LongHeader(response, "Upload-Offset"));
            AssertProtocolHeaders(protocol, response);
        }

        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256HexOfFile(ObjectFile("default", location)));
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task A_wrong_offset_is_409_with_the_held_offset_and_changes_nothing(WireProtocol protocol)
    {
        var data = TestData.Random(10);
        var location = await Client.CreateAsync(protocol, "default", data.Length, data[..4]);

        using (var response = await Client.SendAsync(Append(protocol, location, 2, data[2..5], last: false)))
        {
            Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
            Assert.Equal(4, IetfProtocol.LongHeader(response, "Upload-Offset"));
            AssertProtocolHeaders(protocol, response);
        }

        Assert.Equal(4, await Client.OffsetAsync(protocol, location));
        var staged = await File.ReadAllBytesAsync(server.StagingFile("default", IetfProtocol.IdOf(location)));
        Assert.Equal(data[..4], staged[..4]);

        using var resumed = await Client.SendAsync(Append(protocol, location, 4, data[4..], last: true));
        Assert.Equal(AppendOk(protocol, last: true), resumed.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256HexOfFile(ObjectFile("default", location)));
    }

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task A_cancelled_upload_is_410_and_its_staged_bytes_are_removed(WireProtocol protocol)
    {
        var location = await Client.CreateAsync(protocol, "default", 10, TestData.Random(4));
        var staging = server.StagingFile("default", IetfProtocol.IdOf(location));
        Assert.True(File.Exists(staging));

        using (var deleted = await Client.SendAsync(Cancel(protocol, location)))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            AssertProtocolHeaders(protocol, deleted);
        }

        using (var head = await Client.SendAsync(OffsetRetrieval(protocol, location)))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
            Assert.Null(IetfProtocol.Header(head, "Upload-Offset"));
            AssertProtocolHeaders(protocol, head);
        }

        using (var patch = await Client.SendAsync(Append(protocol, location, 4, TestData.Random(2), last: false)))
        {
            Assert.Equal(HttpStatusCode.Gone, patch.StatusCode);
        }

        Assert.False(File.Exists(staging), "staged bytes survive the cancellation");
    }

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task An_unknown_upload_is_404_without_an_offset(WireProtocol protocol)
    {
        var location = $"{IetfServerFixture.Prefix}/default/{new string('a', 32)}";
        using (var head = await Client.SendAsync(OffsetRetrieval(protocol, location)))
        {
            Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
            Assert.Null(IetfProtocol.Header(head, "Upload-Offset"));
            AssertProtocolHeaders(protocol, head);
        }

        using var patch = await Client.SendAsync(Append(protocol, location, 0, TestData.Random(3), last: false));
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task A_creation_over_the_max_size_is_413_and_creates_nothing(WireProtocol protocol)
    {
        using (var response = await Client.SendAsync(Creation(protocol, "small", 1025)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            Assert.Null(IetfProtocol.Header(response, "Location"));
            AssertProtocolHeaders(protocol, response);
        }

        using var fits = await Client.SendAsync(Creation(protocol, "small", 1024));
        Assert.Equal(HttpStatusCode.Created, fits.StatusCode);
    }

    [Theory]
    [MemberData(nameof(Both), MemberType = typeof(WireRequests))]
    public async Task An_expired_upload_is_410(WireProtocol protocol)
    {
        var location = await Client.CreateAsync(protocol, "short", 10, TestData.Random(2));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        using var head = await Client.SendAsync(OffsetRetrieval(protocol, location));
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        Assert.Null(IetfProtocol.Header(head, "Upload-Offset"));
        AssertProtocolHeaders(protocol, head);
        using var patch = await Client.SendAsync(Append(protocol, location, 2, TestData.Random(2), last: false));
        Assert.Equal(HttpStatusCode.Gone, patch.StatusCode);
    }
}
