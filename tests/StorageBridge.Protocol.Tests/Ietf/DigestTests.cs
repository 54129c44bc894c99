using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>RFC 9530 digests. Repr-Digest across several requests needs the resumable SHA-256 (in progress elsewhere).</summary>
[Collection(IetfServerCollection.Name)]
public sealed class DigestTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    private static string Sha256Field(byte[] data) => $"sha-256=:{TestData.Sha256Base64(data)}:";

    [Theory]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(0)]
    public async Task Correct_content_digest_appends(int version)
    {
        var data = TestData.Random(3000);
        var location = await Client.CreateAsync("default", data[..1000], version: version);
        var request = Append(location, version, 1000, complete: false, data[1000..2000]);
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", Sha256Field(data[1000..2000]));

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(2000, LongHeader(response, "Upload-Offset"));
        using var last = await Client.SendAsync(Append(location, version, 2000, complete: true, data[2000..]));
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Theory]
    [InlineData("sha-256")]
    [InlineData("sha-512")]
    public async Task Wrong_content_digest_is_400_and_appends_nothing(string algorithm)
    {
        var data = TestData.Random(3000);
        var location = await Client.CreateAsync("default", data[..1000]);
        var request = Append(location, 8, 1000, complete: false, TestData.Random(1000, seed: 99));
        var digest = algorithm == "sha-256" ? TestData.Sha256Base64(data[1000..2000]) : TestData.Sha512Base64(data[1000..2000]);
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", $"{algorithm}=:{digest}:");

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(1000, await Client.OffsetAsync(location));
        using var last = await Client.SendAsync(Append(location, 8, 1000, complete: true, data[1000..]));
        Assert.Equal(HttpStatusCode.OK, last.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Wrong_content_digest_on_a_completing_append_keeps_the_upload_open()
    {
        var data = TestData.Random(2000);
        var location = await Client.CreateAsync("default", data[..1000]);
        var request = Append(location, 8, 1000, complete: true, data[1000..]);
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", Sha256Field(data[..1000]));

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        using var head = await Client.HeadAsync(location);
        Assert.Equal(1000, LongHeader(head, "Upload-Offset"));
        Assert.False(Complete(head, 8));
    }

    [Fact]
    public async Task Correct_content_digest_on_creation_is_accepted()
    {
        var data = TestData.Random(1000);
        var request = Creation("default", 8, complete: false, data);
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", Sha256Field(data));
        using var response = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(1000, LongHeader(response, "Upload-Offset"));
    }

    [Fact]
    public async Task Repr_digest_in_one_request_matches_and_is_reported()
    {
        var data = TestData.Random(4000);
        var request = Creation("default", 8, complete: true, data);
        request.Headers.TryAddWithoutValidation("Repr-Digest", Sha256Field(data));
        request.Headers.TryAddWithoutValidation("Want-Repr-Digest", "sha-256=1");

        using var response = await Client.SendAsync(request);

        Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created, response.StatusCode.ToString());
        Assert.Equal(Sha256Field(data), Header(response, "Repr-Digest"));
    }

    [Fact]
    public async Task Repr_digest_in_one_request_that_mismatches_is_400()
    {
        var data = TestData.Random(4000);
        var request = Creation("default", 8, complete: true, data);
        request.Headers.TryAddWithoutValidation("Repr-Digest", Sha256Field(TestData.Random(4000, seed: 5)));

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Repr_digest_across_requests_is_verified_at_completion()
    {
        var data = TestData.Random(9000);
        var request = Creation("default", 8, complete: false, data[..3000]);
        request.Headers.TryAddWithoutValidation("Repr-Digest", Sha256Field(data));
        using var created = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = Location(created);

        using (var middle = await Client.AppendAsync(location, 3000, complete: false, data[3000..6000]))
        {
            Assert.Equal(HttpStatusCode.NoContent, middle.StatusCode);
        }

        var last = Append(location, 8, 6000, complete: true, data[6000..]);
        last.Headers.TryAddWithoutValidation("Want-Repr-Digest", "sha-256=1");
        using var response = await Client.SendAsync(last);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Sha256Field(data), Header(response, "Repr-Digest"));
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Repr_digest_across_requests_that_mismatches_is_400()
    {
        var data = TestData.Random(6000);
        var request = Creation("default", 8, complete: false, data[..3000]);
        request.Headers.TryAddWithoutValidation("Repr-Digest", Sha256Field(TestData.Random(6000, seed: 77)));
        using var created = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var location = Location(created);

        using var response = await Client.AppendAsync(location, 3000, complete: true, data[3000..]);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        using var head = await Client.HeadAsync(location);
        Assert.False(head.StatusCode == HttpStatusCode.NoContent && Complete(head, 8) == true, "a mismatching upload was completed");
    }

    [Fact]
    public async Task Repr_digest_with_a_wrong_sha256_beside_a_right_sha512_is_still_checked()
    {
        var data = TestData.Random(4000);
        var request = Creation("default", 8, complete: false, data[..1000]);
        var sha512 = Convert.ToBase64String(System.Security.Cryptography.SHA512.HashData(data));
        request.Headers.TryAddWithoutValidation("Repr-Digest", $"{Sha256Field(TestData.Random(4000, seed: 78))}, sha-512=:{sha512}:");
        using var created = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        using var response = await Client.AppendAsync(Location(created), 1000, complete: true, data[1000..]);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Want_repr_digest_alone_reports_the_digest_at_completion()
    {
        var data = TestData.Random(5000);
        var request = Creation("default", 8, complete: false, data[..2000]);
        request.Headers.TryAddWithoutValidation("Want-Repr-Digest", "sha-256=1");
        using var created = await Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var last = Append(Location(created), 8, 2000, complete: true, data[2000..]);
        last.Headers.TryAddWithoutValidation("Want-Repr-Digest", "sha-256=1");
        using var response = await Client.SendAsync(last);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Sha256Field(data), Header(response, "Repr-Digest"));
    }
}
