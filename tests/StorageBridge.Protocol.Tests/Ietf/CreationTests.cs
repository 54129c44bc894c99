using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

[Collection(IetfServerCollection.Name)]
public sealed class CreationTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Incomplete_creation_without_content_answers_201_with_location_offset_and_limits(int version)
    {
        using var response = await Client.SendAsync(Creation("default", version, complete: false, content: null));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var location = Location(response);
        Assert.Matches("^/uploads/default/[0-9a-f]{32}$", location);
        Assert.Equal(0, LongHeader(response, "Upload-Offset"));
        Assert.False(Complete(response, version));
        Assert.Null(Header(response, "Upload-Length"));
        AssertVersionEcho(response, version);
        if (version == 3)
        {
            Assert.Null(Header(response, "Upload-Complete"));
        }

        AssertUploadLimit(response, version);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Incomplete_creation_with_content_stores_it(int version)
    {
        var data = TestData.Random(3000, seed: version);
        using var response = await Client.SendAsync(Creation("default", version, complete: false, data));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(3000, LongHeader(response, "Upload-Offset"));
        Assert.False(Complete(response, version));
        AssertUploadLimit(response, version);
        var location = Location(response);
        Assert.Equal(3000, await Client.OffsetAsync(location));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Complete_creation_implies_the_length_and_completes(int version)
    {
        var data = TestData.Random(5000, seed: 10 + version);
        using var response = await Client.SendAsync(Creation("default", version, complete: true, data));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var location = Location(response);
        Assert.Equal(5000, LongHeader(response, "Upload-Offset"));
        Assert.True(Complete(response, version));
        Assert.Equal(5000, LongHeader(response, "Upload-Length"));
        AssertVersionEcho(response, version);

        using var head = await Client.HeadAsync(location, version);
        Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
        Assert.True(Complete(head, version));
        Assert.Equal(5000, LongHeader(head, "Upload-Length"));
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Upload_length_is_reported_by_creation_and_head(int version)
    {
        using var response = await Client.SendAsync(Creation("default", version, complete: false, TestData.Random(100), uploadLength: 250));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(250, LongHeader(response, "Upload-Length"));
        Assert.Equal(100, LongHeader(response, "Upload-Offset"));
        using var head = await Client.HeadAsync(Location(response), version);
        Assert.Equal(250, LongHeader(head, "Upload-Length"));
        Assert.Equal(100, LongHeader(head, "Upload-Offset"));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Upload_length_disagreeing_with_a_complete_body_is_400_inconsistent_length(int version)
    {
        using var response = await Client.SendAsync(Creation("default", version, complete: true, TestData.Random(100), uploadLength: 101));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, InconsistentLength);
        AssertVersionEcho(response, version);
    }

    [Fact]
    public async Task Incomplete_creation_content_beyond_upload_length_is_400_inconsistent_length()
    {
        using var response = await Client.SendAsync(Creation("default", 8, complete: false, TestData.Random(100), uploadLength: 10));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, InconsistentLength);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Upload_length_agreeing_with_a_complete_body_is_accepted(int version)
    {
        var data = TestData.Random(100);
        using var response = await Client.SendAsync(Creation("default", version, complete: true, data, uploadLength: 100));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(Complete(response, version));
        Assert.Equal(100, LongHeader(response, "Upload-Offset"));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Zero_byte_complete_creation_makes_an_empty_object(int version)
    {
        using var response = await Client.SendAsync(Creation("default", version, complete: true, content: []));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(Complete(response, version));
        Assert.Equal(0, LongHeader(response, "Upload-Offset"));
        Assert.Equal(0, LongHeader(response, "Upload-Length"));
        // An empty creation is one the draft requires Upload-Limit on, even though it completed the upload.
        AssertUploadLimit(response, version);
        Assert.Empty(await Client.DownloadAsync(Location(response)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Unknown_length_upload_is_completed_later(int version)
    {
        var first = TestData.Random(700, seed: 1);
        var second = TestData.Random(300, seed: 2);
        using var created = await Client.SendAsync(Creation("default", version, complete: false, first));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = Location(created);
        Assert.Null(Header(created, "Upload-Length"));

        using var append = await Client.SendAsync(Append(location, version, 700, complete: true, second));
        Assert.Equal(HttpStatusCode.OK, append.StatusCode);
        Assert.True(Complete(append, version));
        Assert.Equal(1000, LongHeader(append, "Upload-Offset"));

        using var head = await Client.HeadAsync(location, version);
        Assert.Equal(1000, LongHeader(head, "Upload-Length"));
        Assert.True(Complete(head, version));
        Assert.Equal(TestData.Sha256Hex(TestData.Concat(first, second)), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Put_to_the_target_also_creates()
    {
        var request = Creation("default", 8, complete: true, TestData.Random(10));
        request.Method = HttpMethod.Put;
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(Complete(response, 8));
    }

    [Fact]
    public async Task Creation_on_an_unknown_target_is_404()
    {
        using var response = await Client.SendAsync(Creation("nope", 8, complete: false, null));
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Content_disposition_filename_and_type_are_kept_for_download()
    {
        var request = Creation("default", 8, complete: true, TestData.Random(10));
        request.Content!.Headers.TryAddWithoutValidation("Content-Type", "text/plain");
        request.Content.Headers.TryAddWithoutValidation("Content-Disposition", "inline; filename=\"notes.txt\"");
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        using var download = await Client.GetAsync(Location(response) + "/content");
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal("text/plain", download.Content.Headers.ContentType?.MediaType);
        Assert.Equal("notes.txt", download.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
    }

    [Fact]
    public async Task Chunked_complete_creation_takes_its_length_from_the_body()
    {
        var data = TestData.Random(70_000, seed: 3);
        var request = Creation("default", 8, complete: true, null);
        request.Content = new StreamContent(new NonSeekableStream(data));
        request.Headers.TransferEncodingChunked = true;

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(70_000, LongHeader(response, "Upload-Offset"));
        Assert.Equal(70_000, LongHeader(response, "Upload-Length"));
        Assert.True(Complete(response, 8));
        Assert.Equal(data, await Client.DownloadAsync(Location(response)));
    }

    /// <summary>A stream without a length, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }

    /// <summary>Upload-Limit exists from interop 6 (expiry key "expires" in 6, "max-age" after); min-size is always there.</summary>
    internal static void AssertUploadLimit(HttpResponseMessage response, int version)
    {
        if (Effective(version) < 6)
        {
            Assert.Null(Header(response, "Upload-Limit"));
            return;
        }

        var limits = Limits(response);
        Assert.Equal(0, limits["min-size"]);
        var (key, other) = Effective(version) == 6 ? ("expires", "max-age") : ("max-age", "expires");
        Assert.True(limits.ContainsKey(key), $"Upload-Limit lacks {key}: {Header(response, "Upload-Limit")}");
        Assert.False(limits.ContainsKey(other), $"Upload-Limit has {other}: {Header(response, "Upload-Limit")}");
        Assert.InRange(limits[key], 1, 86400);
    }
}
