using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

[Collection(IetfServerCollection.Name)]
public sealed class OffsetRetrievalTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    public static TheoryData<int, string> VersionsAndMethods()
    {
        var data = new TheoryData<int, string>();
        foreach (var version in AllVersions)
        {
            data.Add(version, "HEAD");
            data.Add(version, "GET");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VersionsAndMethods))]
    public async Task Offset_retrieval_answers_204_no_store_with_state_and_limits(int version, string method)
    {
        var location = await Client.CreateAsync("default", TestData.Random(1234), complete: false, version: version, uploadLength: 5000);

        using var response = await Client.SendAsync(Request(new HttpMethod(method), location, version));

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        Assert.Equal(1234, LongHeader(response, "Upload-Offset"));
        Assert.False(Complete(response, version));
        Assert.Equal(5000, LongHeader(response, "Upload-Length"));
        AssertVersionEcho(response, version);
        CreationTests.AssertUploadLimit(response, version);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Offset_retrieval_of_a_completed_upload_says_complete(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(10), complete: true, version: version);

        using var response = await Client.HeadAsync(location, version);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("no-store", Header(response, "Cache-Control"));
        Assert.Equal(10, LongHeader(response, "Upload-Offset"));
        Assert.Equal(10, LongHeader(response, "Upload-Length"));
        Assert.True(Complete(response, version));
    }

    [Theory]
    [InlineData("Upload-Offset", "0")]
    [InlineData("Upload-Complete", "?0")]
    [InlineData("Upload-Incomplete", "?1")]
    [InlineData("Upload-Length", "100")]
    public async Task Head_with_upload_fields_is_400(string field, string value)
    {
        var location = await Client.CreateAsync("default", TestData.Random(10));
        var request = Request(HttpMethod.Head, location, 8);
        request.Headers.TryAddWithoutValidation(field, value);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(10, await Client.OffsetAsync(location));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Unknown_upload_is_404(int version)
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Get, $"/uploads/default/{new string('a', 32)}", version));
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
        using var head = await Client.SendAsync(Request(HttpMethod.Head, $"/uploads/default/{new string('b', 32)}", version));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Cancelled_upload_is_404_up_to_interop_5_and_410_after(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(10), version: version);
        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, version)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var expected = Effective(version) <= 5 ? HttpStatusCode.NotFound : HttpStatusCode.Gone;
        using var head = await Client.HeadAsync(location, version);
        Assert.Equal(expected, head.StatusCode);
        Assert.Null(Header(head, "Upload-Offset"));
        using var get = await Client.SendAsync(Request(HttpMethod.Get, location, version));
        await AssertProblemAsync(get, expected);
    }

    [Fact]
    public async Task Upload_on_another_target_is_404()
    {
        var location = await Client.CreateAsync("default", TestData.Random(10));
        using var response = await Client.HeadAsync(location.Replace("/default/", "/small/", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
