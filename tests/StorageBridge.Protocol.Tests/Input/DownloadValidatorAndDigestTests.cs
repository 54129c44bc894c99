using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using StorageBridge.Protocol.Tests.Ietf;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Input;

/// <summary>
/// Downloads honour If-Range (RFC 9110 13.1.5: a strong entity-tag match, else the whole object), and a digest field
/// that names only algorithms the server does not check is refused instead of passing unverified (RFC 9530 lets a
/// server ignore such algorithms; it then must not appear to have verified anything).
/// </summary>
[Collection(IetfServerCollection.Name)]
public sealed class DownloadValidatorAndDigestTests(IetfServerFixture server)
{
    private static readonly byte[] Data = TestData.Random(10_000, seed: 19);

    private HttpClient Client => server.Client;

    private async Task<(string Location, string ETag)> CompletedAsync()
    {
        var location = await Client.CreateAsync("default", Data, complete: true);
        using var head = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, location + "/content"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        return (location, head.Headers.ETag!.ToString());
    }

    private Task<HttpResponseMessage> RangeAsync(string location, string? ifRange)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.Range = new RangeHeaderValue(100, 199);
        if (ifRange is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Range", ifRange);
        }

        return Client.SendAsync(request);
    }

    [Fact]
    public async Task If_range_with_the_current_strong_etag_gets_the_range()
    {
        var (location, etag) = await CompletedAsync();
        Assert.StartsWith("\"", etag, StringComparison.Ordinal);

        using var response = await RangeAsync(location, etag);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 100-199/10000", response.Content.Headers.ContentRange!.ToString());
        Assert.Equal(Data[100..200], await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("\"some-other-version\"")]
    [InlineData("weak")]
    [InlineData("date")]
    [InlineData("\"a\", \"b\"")]
    public async Task If_range_that_does_not_name_this_representation_gets_the_whole_object(string kind)
    {
        var (location, etag) = await CompletedAsync();
        var ifRange = kind switch
        {
            "weak" => "W/" + etag, // weak tags never match in If-Range
            "date" => DateTimeOffset.UtcNow.AddDays(1).ToString("R", CultureInfo.InvariantCulture), // no Last-Modified is sent
            _ => kind,
        };

        using var response = await RangeAsync(location, ifRange);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentRange);
        Assert.Equal(TestData.Sha256Hex(Data), TestData.Sha256Hex(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task If_range_that_fails_also_overrides_an_unsatisfiable_range()
    {
        var (location, _) = await CompletedAsync();
        var request = new HttpRequestMessage(HttpMethod.Get, location + "/content");
        request.Headers.Range = new RangeHeaderValue(50_000, null);
        request.Headers.TryAddWithoutValidation("If-Range", "\"old\"");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Data.Length, response.Content.Headers.ContentLength);
    }

    [Theory]
    [InlineData("md5=:XrY7u+Ae7tCTyyK7j1rNww==:")]
    [InlineData("sha=:Kq5sNclPz7QV2+lfQIuc6R7oRu0=:, unixsum=30637")]
    [InlineData("sha-384=:AAAA:")]
    public async Task A_content_digest_with_only_unsupported_algorithms_is_400_and_appends_nothing(string field)
    {
        var location = await Client.CreateAsync("default", Data[..1000]);
        var request = Append(location, 8, 1000, complete: false, Data[1000..2000]);
        request.Content!.Headers.TryAddWithoutValidation("Content-Digest", field);

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(1000, await Client.OffsetAsync(location));
    }

    [Fact]
    public async Task An_unsupported_algorithm_beside_a_right_sha256_appends()
    {
        var location = await Client.CreateAsync("default", Data[..1000]);
        var request = Append(location, 8, 1000, complete: false, Data[1000..2000]);
        request.Content!.Headers.TryAddWithoutValidation(
            "Content-Digest", $"md5=:XrY7u+Ae7tCTyyK7j1rNww==:, sha-256=:{TestData.Sha256Base64(Data[1000..2000])}:");

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(2000, await Client.OffsetAsync(location));
    }

    [Theory]
    [InlineData("md5=:XrY7u+Ae7tCTyyK7j1rNww==:")]
    [InlineData("sha-512")]
    public async Task A_repr_digest_without_sha256_is_refused_at_creation(string field)
    {
        if (field == "sha-512")
        {
            field = $"sha-512=:{TestData.Sha512Base64(Data)}:"; // right, but never checked across requests
        }

        var request = Creation("default", 8, complete: false, Data[..1000]);
        request.Headers.TryAddWithoutValidation("Repr-Digest", field);

        using var response = await Client.SendAsync(request);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Null(response.Headers.Location);
    }
}
