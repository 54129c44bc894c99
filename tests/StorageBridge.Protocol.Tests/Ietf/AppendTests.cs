using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

[Collection(IetfServerCollection.Name)]
public sealed class AppendTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Appends_answer_204_then_200_with_offset_and_completion(int version)
    {
        var data = TestData.Random(10_000, seed: version);
        var location = await Client.CreateAsync("default", null, version: version);

        using (var first = await Client.SendAsync(Append(location, version, 0, complete: false, data[..4000])))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
            Assert.Equal(4000, LongHeader(first, "Upload-Offset"));
            Assert.False(Complete(first, version));
            AssertVersionEcho(first, version);
        }

        using (var last = await Client.SendAsync(Append(location, version, 4000, complete: true, data[4000..])))
        {
            Assert.Equal(HttpStatusCode.OK, last.StatusCode);
            Assert.Equal(10_000, LongHeader(last, "Upload-Offset"));
            Assert.True(Complete(last, version));
            AssertVersionEcho(last, version);
        }

        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Reaching_the_declared_length_with_Upload_Complete_0_does_not_complete(int version)
    {
        // Only the client completes an upload: the offset may match the length while the upload is incomplete.
        var data = TestData.Random(6000, seed: 40 + version);
        var location = await Client.CreateAsync("default", null, version: version, uploadLength: data.Length);

        using (var last = await Client.SendAsync(Append(location, version, 0, complete: false, data)))
        {
            Assert.Equal(HttpStatusCode.NoContent, last.StatusCode);
            Assert.Equal(6000, LongHeader(last, "Upload-Offset"));
            Assert.False(Complete(last, version));
        }

        using var finish = await Client.SendAsync(Append(location, version, 6000, complete: true, []));
        Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
        Assert.True(Complete(finish, version));
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task An_empty_creation_with_Upload_Length_0_waits_for_the_client_to_complete_it(int version)
    {
        using var response = await Client.SendAsync(Creation("default", version, complete: false, content: null, uploadLength: 0));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(Complete(response, version));
        Assert.Equal(0, LongHeader(response, "Upload-Offset"));

        using var finish = await Client.SendAsync(Append(Location(response), version, 0, complete: true, []));
        Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
        Assert.True(Complete(finish, version));
        Assert.Empty(await Client.DownloadAsync(Location(response)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Partial_upload_media_type_is_required_from_interop_6(int version)
    {
        var location = await Client.CreateAsync("default", null, version: version);
        var request = Append(location, version, 0, complete: false, TestData.Random(100));
        request.Content!.Headers.ContentType = null;

        using var response = await Client.SendAsync(request);

        if (Effective(version) >= 6)
        {
            await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
            Assert.Equal(0, await Client.OffsetAsync(location));
        }
        else
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(100, LongHeader(response, "Upload-Offset"));
        }
    }

    [Theory]
    [InlineData(6, "application/offset+octet-stream")]
    [InlineData(7, "application/octet-stream")]
    [InlineData(8, "text/plain")]
    [InlineData(0, "application/offset+octet-stream")]
    public async Task Other_media_types_are_415_from_interop_6(int version, string mediaType)
    {
        var location = await Client.CreateAsync("default", TestData.Random(5), version: version);
        var request = Append(location, version, 5, complete: false, TestData.Random(100));
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue(mediaType);

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(5, await Client.OffsetAsync(location));
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Partial_upload_media_type_is_also_accepted_before_interop_6(int version)
    {
        var location = await Client.CreateAsync("default", null, version: version);
        var request = Append(location, version, 0, complete: false, TestData.Random(100));
        request.Content!.Headers.ContentType = new MediaTypeHeaderValue(PartialUpload);
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Wrong_offset_is_409_with_the_correct_offset_and_problem(int version)
    {
        var data = TestData.Random(2000);
        var location = await Client.CreateAsync("default", data[..1000], version: version);

        foreach (var wrong in new long[] { 0, 999, 1001, 5000 })
        {
            using var response = await Client.SendAsync(Append(location, version, wrong, complete: false, data[1000..]));

            var problem = await AssertProblemAsync(response, HttpStatusCode.Conflict, MismatchingOffset);
            Assert.Equal(1000, LongHeader(response, "Upload-Offset"));
            Assert.False(Complete(response, version));
            Assert.Equal(1000, problem.GetProperty("expected-offset").GetInt64());
            Assert.Equal(wrong, problem.GetProperty("provided-offset").GetInt64());
            AssertVersionEcho(response, version);
        }

        using var ok = await Client.SendAsync(Append(location, version, 1000, complete: true, data[1000..]));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Empty_append_to_a_completed_upload_is_version_specific(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(10), complete: true, version: version);

        using var response = await Client.SendAsync(Append(location, version, 10, complete: true, []));

        if (Effective(version) >= 8)
        {
            await AssertProblemAsync(response, HttpStatusCode.Gone, CompletedUpload);
        }
        else
        {
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, CompletedUpload);
        }

        Assert.Equal(10, (await Client.DownloadAsync(location)).Length);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Non_empty_append_to_a_completed_upload_is_version_specific(int version)
    {
        var data = TestData.Random(10);
        var location = await Client.CreateAsync("default", data, complete: true, version: version);

        using var response = await Client.SendAsync(Append(location, version, 10, complete: true, TestData.Random(5)));

        if (Effective(version) >= 8)
        {
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, InconsistentLength);
        }
        else
        {
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, CompletedUpload);
        }

        Assert.Equal(data, await Client.DownloadAsync(location));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Append_over_max_append_size_is_413_with_limits(int version)
    {
        var location = await Client.CreateAsync("limited", TestData.Random(100), version: version);

        using var response = await Client.SendAsync(Append(location, version, 100, complete: false, TestData.Random(4097)));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        var limits = Limits(response);
        Assert.Equal(4096, limits["max-append-size"]);
        Assert.Equal(16, limits["min-append-size"]);
        Assert.Equal(0, limits["min-size"]);
        Assert.Equal(100, await Client.OffsetAsync(location));

        using var exact = await Client.SendAsync(Append(location, version, 100, complete: false, TestData.Random(4096)));
        Assert.Equal(HttpStatusCode.NoContent, exact.StatusCode);
        Assert.Equal(4196, LongHeader(exact, "Upload-Offset"));
    }

    [Fact]
    public async Task Creation_content_over_max_append_size_is_413()
    {
        using var response = await Client.SendAsync(Creation("limited", 8, complete: true, TestData.Random(4097)));
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(4096, Limits(response)["max-append-size"]);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Upload_over_max_size_is_413_with_limits(int version)
    {
        var location = await Client.CreateAsync("small", TestData.Random(1000), version: version);

        using var response = await Client.SendAsync(Append(location, version, 1000, complete: false, TestData.Random(25)));

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(1024, Limits(response)["max-size"]);
        Assert.Equal(1000, await Client.OffsetAsync(location));

        using var fits = await Client.SendAsync(Append(location, version, 1000, complete: true, TestData.Random(24)));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    [Theory]
    [InlineData(1025, true)]
    [InlineData(2000, false)]
    public async Task Creation_over_max_size_is_413(int length, bool complete)
    {
        var request = complete
            ? Creation("small", 8, complete: true, TestData.Random(length))
            : Creation("small", 8, complete: false, null, uploadLength: length);
        using var response = await Client.SendAsync(request);
        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(1024, Limits(response)["max-size"]);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Min_append_size_is_enforced_except_on_completing_requests(int version)
    {
        var location = await Client.CreateAsync("limited", TestData.Random(20), version: version);

        using (var small = await Client.SendAsync(Append(location, version, 20, complete: false, TestData.Random(15))))
        {
            // 400, not 413: a 413 tells the client to send a smaller request.
            Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
        }

        Assert.Equal(20, await Client.OffsetAsync(location));
        using (var enough = await Client.SendAsync(Append(location, version, 20, complete: false, TestData.Random(16))))
        {
            Assert.Equal(HttpStatusCode.NoContent, enough.StatusCode);
        }

        using var last = await Client.SendAsync(Append(location, version, 36, complete: true, TestData.Random(3)));
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.Equal(39, LongHeader(last, "Upload-Offset"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Min_append_size_does_not_apply_to_empty_creation_but_to_small_creation_content(bool empty)
    {
        using var response = await Client.SendAsync(Creation("limited", 8, complete: false, empty ? null : TestData.Random(5)));
        Assert.Equal(empty ? HttpStatusCode.Created : HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Upload_length_on_a_later_append_fixes_the_length()
    {
        var location = await Client.CreateAsync("default", TestData.Random(100));
        var request = Append(location, 8, 100, complete: false, TestData.Random(100));
        request.Headers.TryAddWithoutValidation("Upload-Length", "300");
        using (var response = await Client.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Equal(300, LongHeader(response, "Upload-Length"));
        }

        using var head = await Client.HeadAsync(location);
        Assert.Equal(300, LongHeader(head, "Upload-Length"));

        // Past the length it fixed: the upload is invalid from then on.
        using var over = await Client.SendAsync(Append(location, 8, 200, complete: false, TestData.Random(101)));
        await AssertProblemAsync(over, HttpStatusCode.BadRequest, InconsistentLength);
        using var gone = await Client.HeadAsync(location);
        Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
    }

    [Fact]
    public async Task Completing_short_of_the_declared_length_is_400_inconsistent_length()
    {
        var location = await Client.CreateAsync("default", TestData.Random(100), uploadLength: 300);
        using var response = await Client.SendAsync(Append(location, 8, 100, complete: true, TestData.Random(100)));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, InconsistentLength);
        Assert.Equal(100, await Client.OffsetAsync(location));
    }

    [Fact]
    public async Task Empty_non_completing_append_is_accepted()
    {
        var location = await Client.CreateAsync("default", TestData.Random(100));
        using var response = await Client.AppendAsync(location, 100, complete: false, []);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(100, LongHeader(response, "Upload-Offset"));
    }

    [Theory]
    [InlineData("Upload-Offset", "0000000100")]
    [InlineData("Upload-Offset", "100;note=1")]
    [InlineData("Upload-Complete", "?0;note=\"x\"")]
    [InlineData("Upload-Complete", "?0;a")]
    public async Task Valid_structured_field_spellings_are_accepted(string field, string value)
    {
        var location = await Client.CreateAsync("default", TestData.Random(100));
        var request = Append(location, 8, 100, complete: false, TestData.Random(50));
        request.Headers.Remove(field);
        request.Headers.TryAddWithoutValidation(field, value);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(150, LongHeader(response, "Upload-Offset"));
    }

    [Theory]
    [InlineData("limited", 4096)]
    [InlineData("small", 1024)]
    public async Task Chunked_append_over_a_limit_is_413_and_reports_what_it_kept(string target, int limit)
    {
        var location = await Client.CreateAsync(target, null);
        var request = Append(location, 8, 0, complete: false, []);
        request.Content = new StreamContent(new ChunkedStream(new MemoryStream(TestData.Random(10_000))));
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(PartialUpload);
        request.Headers.TransferEncodingChunked = true;

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.NotNull(Header(response, "Upload-Limit"));
        // Whatever the server kept, the response and the next HEAD agree, and it is within the limit.
        var reported = LongHeader(response, "Upload-Offset") ?? 0;
        Assert.InRange(reported, 0, limit);
        Assert.Equal(reported, await Client.OffsetAsync(location));
    }

    [Fact]
    public async Task Appends_larger_than_kestrels_default_body_limit_are_accepted()
    {
        var data = TestData.Random(40 * 1024 * 1024, seed: 40);
        var location = await Client.CreateAsync("default", null, uploadLength: data.Length);
        using var response = await Client.AppendAsync(location, 0, complete: true, data);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    /// <summary>A stream of unknown length (sent chunked) that hands out at most 1000 bytes per read.</summary>
    private sealed class ChunkedStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 1000));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
