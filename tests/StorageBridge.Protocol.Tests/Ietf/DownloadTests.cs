using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

[Collection(IetfServerCollection.Name)]
public sealed class DownloadTests(IetfServerFixture server)
{
    private static readonly byte[] Data = TestData.Random(10_000, seed: 42);

    private HttpClient Client => server.Client;

    private async Task<string> CompletedAsync() => await Client.CreateAsync("default", Data, complete: true);

    [Fact]
    public async Task Full_download_returns_every_byte()
    {
        var location = await CompletedAsync();
        using var response = await Client.GetAsync(location + "/content");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(10_000, response.Content.Headers.ContentLength);
        Assert.Equal("bytes", Header(response, "Accept-Ranges"));
        Assert.Equal(Data, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=0-0", 0, 0)]
    [InlineData("bytes=100-199", 100, 199)]
    [InlineData("bytes=9000-", 9000, 9999)]
    [InlineData("bytes=9990-20000", 9990, 9999)]
    [InlineData("bytes=-10", 9990, 9999)]
    [InlineData("bytes=-20000", 0, 9999)]
    public async Task Range_returns_206_with_content_range(string range, int first, int last)
    {
        var location = await CompletedAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/10000", Header(response, "Content-Range"));
        Assert.Equal(Data[first..(last + 1)], await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("bytes=10000-")]
    [InlineData("bytes=20000-30000")]
    [InlineData("bytes=-0")]
    public async Task Unsatisfiable_range_is_416_with_the_length(string range)
    {
        var location = await CompletedAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */10000", Header(response, "Content-Range"));
    }

    [Theory]
    [InlineData("bytes=abc")]
    [InlineData("bytes=5-2")]
    [InlineData("items=0-5")]
    [InlineData("bytes=")]
    [InlineData("bytes=--5")]
    [InlineData("bytes=0-1,5-6")]
    [InlineData("bytes=99999999999999999999999-")]
    [InlineData("garbage")]
    public async Task Range_garbage_never_fails_the_server(string range)
    {
        var location = await CompletedAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.TryAddWithoutValidation("Range", range);

        using var response = await Client.SendAsync(request);

        // RFC 9110 14.2: an invalid or unsupported Range may be ignored (200, whole object) or refused (416).
        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode.ToString());
        if (response.StatusCode == HttpStatusCode.OK)
        {
            Assert.Equal(Data, await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Fact]
    public async Task Head_on_content_returns_the_length()
    {
        var location = await CompletedAsync();
        using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, location + "/content"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(10_000, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Incomplete_upload_is_409()
    {
        var location = await Client.CreateAsync("default", Data[..100]);
        using var response = await Client.GetAsync(location + "/content");
        await AssertProblemAsync(response, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Unknown_or_cancelled_upload_is_404_or_410()
    {
        using (var unknown = await Client.GetAsync($"/uploads/default/{new string('d', 32)}/content"))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        }

        var location = await Client.CreateAsync("default", Data[..100]);
        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, 8)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        using var cancelled = await Client.GetAsync(location + "/content");
        await AssertProblemAsync(cancelled, HttpStatusCode.Gone);
    }

    [Fact]
    public async Task Empty_object_downloads_empty()
    {
        var location = await Client.CreateAsync("default", [], complete: true);
        using var response = await Client.GetAsync(location + "/content");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());

        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content") { Headers = { Range = new RangeHeaderValue(0, 0) } };
        using var ranged = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, ranged.StatusCode);
    }
}
