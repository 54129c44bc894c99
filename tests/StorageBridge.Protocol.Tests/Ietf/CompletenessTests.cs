using System.Net;
using System.Security.Cryptography;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>
/// Completeness and validity, to the letter of the draft: only the client completes an upload ("the offset could match
/// the length, but the upload can still be incomplete"), data past a known length invalidates the upload, error
/// responses to upload requests say whether the upload is complete, a completed upload can be cancelled, and an
/// append below min-append-size is a 400 (a 413 would tell the client to send less).
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class CompletenessTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Reaching_the_length_with_Upload_Complete_0_leaves_the_upload_incomplete_until_an_empty_completing_append(int version)
    {
        var data = TestData.Random(3000, seed: version);
        var location = await Client.CreateAsync("default", data[..1000], version: version, uploadLength: data.Length);

        using (var append = await Client.AppendAsync(location, 1000, complete: false, data[1000..], version))
        {
            Assert.Equal(HttpStatusCode.NoContent, append.StatusCode);
            Assert.Equal(false, Complete(append, version));
            Assert.Equal(data.Length, LongHeader(append, "Upload-Offset"));
        }

        using (var head = await Client.HeadAsync(location, version))
        {
            Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
            Assert.Equal(false, Complete(head, version));
            Assert.Equal(data.Length, LongHeader(head, "Upload-Offset"));
        }

        using (var notYet = await Client.GetAsync(location + "/content"))
        {
            Assert.NotEqual(HttpStatusCode.OK, notYet.StatusCode);
        }

        using (var finish = await Client.AppendAsync(location, data.Length, complete: true, [], version))
        {
            Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
            Assert.Equal(true, Complete(finish, version));
            Assert.Equal(data.Length, LongHeader(finish, "Upload-Offset"));
        }

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await Client.DownloadAsync(location)));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    public async Task Creation_with_all_the_content_and_Upload_Complete_0_stays_incomplete(int version)
    {
        var data = TestData.Random(700, seed: 11);
        using var created = await Client.SendAsync(Creation("default", version, complete: false, data, uploadLength: data.Length));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(false, Complete(created, version));
        var location = Location(created);

        using (var head = await Client.HeadAsync(location, version))
        {
            Assert.Equal(false, Complete(head, version));
        }

        using (var finish = await Client.AppendAsync(location, data.Length, complete: true, [], version))
        {
            Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
            Assert.Equal(true, Complete(finish, version));
        }

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Declared_length_0_is_completed_by_the_client_not_by_the_creation()
    {
        var location = await Client.CreateAsync("default", null, uploadLength: 0);
        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(false, Complete(head, 8));
        }

        using (var finish = await Client.AppendAsync(location, 0, complete: true, []))
        {
            Assert.Equal(HttpStatusCode.OK, finish.StatusCode);
            Assert.Equal(true, Complete(finish, 8));
        }

        Assert.Empty(await Client.DownloadAsync(location));
    }

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(0)]
    public async Task Content_past_the_known_length_is_400_and_invalidates_the_upload(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(600), version: version, uploadLength: 1000);
        var staging = server.StagingFile("default", IdOf(location));
        Assert.True(File.Exists(staging));

        using (var past = await Client.AppendAsync(location, 600, complete: false, TestData.Random(401), version))
        {
            await AssertProblemAsync(past, HttpStatusCode.BadRequest, InconsistentLength);
            Assert.Equal(false, Complete(past, version));
        }

        Assert.False(File.Exists(staging), "the invalid upload's bytes are still staged");
        using (var head = await Client.HeadAsync(location, version))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        // Even the append that would have been right is refused now.
        using var late = await Client.AppendAsync(location, 600, complete: true, TestData.Random(400), version);
        await AssertProblemAsync(late, HttpStatusCode.Gone);
    }

    [Fact]
    public async Task Chunked_content_past_the_known_length_invalidates_the_upload()
    {
        var location = await Client.CreateAsync("default", null, uploadLength: 100);
        var request = Append(location, 8, 0, complete: false, []);
        request.Content = new StreamContent(new MemoryStream(TestData.Random(150)));
        request.Content.Headers.ContentType = new(PartialUpload);
        request.Headers.TransferEncodingChunked = true;
        using (var past = await Client.SendAsync(request))
        {
            await AssertProblemAsync(past, HttpStatusCode.BadRequest, InconsistentLength);
            Assert.Equal(false, Complete(past, 8));
        }

        Assert.False(File.Exists(server.StagingFile("default", IdOf(location))));
        using var head = await Client.HeadAsync(location);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Error_responses_to_appends_say_the_upload_is_incomplete(int version)
    {
        var location = await Client.CreateAsync("limited", TestData.Random(20), version: version);

        // 409 (offset), 413 (max-append-size), 400 (min-append-size, bad field), 415 (media type, from interop 6).
        using (var conflict = await Client.AppendAsync(location, 5, complete: false, TestData.Random(20), version))
        {
            Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
            Assert.Equal(false, Complete(conflict, version));
        }

        using (var large = await Client.AppendAsync(location, 20, complete: false, TestData.Random(5000), version))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
            Assert.Equal(false, Complete(large, version));
        }

        using (var small = await Client.AppendAsync(location, 20, complete: false, TestData.Random(3), version))
        {
            Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
            Assert.Equal(false, Complete(small, version));
        }

        var badOffset = Append(location, version, 20, complete: false, TestData.Random(20));
        badOffset.Headers.Remove("Upload-Offset");
        badOffset.Headers.TryAddWithoutValidation("Upload-Offset", "-1");
        using (var bad = await Client.SendAsync(badOffset))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal(false, Complete(bad, version));
        }

        if (Effective(version) >= 6)
        {
            var wrongType = Append(location, version, 20, complete: false, TestData.Random(20));
            wrongType.Content!.Headers.ContentType = new("application/octet-stream");
            using var unsupported = await Client.SendAsync(wrongType);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, unsupported.StatusCode);
            Assert.Equal(false, Complete(unsupported, version));
        }
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Error_responses_to_a_completed_upload_say_it_is_complete(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(10), complete: true, version: version);
        using var again = await Client.AppendAsync(location, 10, complete: true, TestData.Random(5), version);
        Assert.True((int)again.StatusCode is 400 or 410, again.StatusCode.ToString());
        Assert.Equal(true, Complete(again, version));
    }

    [Fact]
    public async Task Error_responses_to_creation_say_the_upload_is_incomplete()
    {
        using var tooLarge = await Client.SendAsync(Creation("small", 8, complete: false, null, uploadLength: 5000));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(false, Complete(tooLarge, 8));

        var inconsistent = Creation("default", 8, complete: true, TestData.Random(10), uploadLength: 11);
        using var mismatch = await Client.SendAsync(inconsistent);
        await AssertProblemAsync(mismatch, HttpStatusCode.BadRequest, InconsistentLength);
        Assert.Equal(false, Complete(mismatch, 8));
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Append_below_min_append_size_is_400_with_the_limits(int version)
    {
        var location = await Client.CreateAsync("limited", TestData.Random(20), version: version);
        using var small = await Client.AppendAsync(location, 20, complete: false, TestData.Random(15), version);
        Assert.Equal(HttpStatusCode.BadRequest, small.StatusCode);
        Assert.Equal(20, LongHeader(small, "Upload-Offset"));
        if (Effective(version) >= 6)
        {
            Assert.Equal(16, Limits(small)["min-append-size"]);
        }
    }

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Delete_of_a_completed_upload_is_204_deactivates_it_and_keeps_the_object(int version)
    {
        var data = TestData.Random(900, seed: 5);
        var location = await Client.CreateAsync("default", data, complete: true, version: version);
        var stored = Path.Combine(server.TargetRoot("default"), IdOf(location));
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(stored)));

        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, version)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var gone = Effective(version) <= 5 ? HttpStatusCode.NotFound : HttpStatusCode.Gone;
        using (var head = await Client.HeadAsync(location, version))
        {
            Assert.Equal(gone, head.StatusCode);
        }

        using (var append = await Client.AppendAsync(location, 900, complete: true, [], version))
        {
            Assert.Equal(gone, append.StatusCode);
        }

        Assert.Equal(SHA256.HashData(data), SHA256.HashData(await File.ReadAllBytesAsync(stored)));
    }

    [Fact]
    public async Task Delete_of_a_completed_upload_deletes_the_object_when_the_target_says_so()
    {
        var location = await Client.CreateAsync("deleting", TestData.Random(900), complete: true);
        var stored = Path.Combine(server.TargetRoot("deleting"), IdOf(location));
        Assert.True(File.Exists(stored));

        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, 8)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        Assert.False(File.Exists(stored), "the object survived although the target deletes it");
        using var head = await Client.HeadAsync(location);
        Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
    }
}
