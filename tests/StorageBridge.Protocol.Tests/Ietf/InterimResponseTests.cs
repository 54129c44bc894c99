using System.Globalization;
using System.Text;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>104 (Upload Resumption Supported), read off a raw socket: HttpClient swallows 1xx responses.</summary>
[Collection(IetfServerCollection.Name)]
public sealed class InterimResponseTests(IetfServerFixture server)
{
    private async Task<List<RawHttpMessage>> CreateRawAsync(string target, params string[] extraHeaders)
    {
        var body = Encoding.ASCII.GetBytes("hello world");
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        string[] headers = [.. extraHeaders, $"Content-Length: {body.Length}"];
        await connection.SendAsync(RawHttpConnection.Head("POST", $"/uploads/{target}", headers));
        await connection.SendAsync(body);
        return await connection.ReadUntilFinalAsync();
    }

    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task Announced_versions_get_104_with_location_before_the_201(int version)
    {
        var completeHeader = version == 3 ? "Upload-Incomplete: ?1" : "Upload-Complete: ?0";
        var responses = await CreateRawAsync("default", $"Upload-Draft-Interop-Version: {version}", completeHeader);

        Assert.Equal(2, responses.Count);
        var (interim, final) = (responses[0], responses[1]);
        Assert.Equal(104, interim.StatusCode);
        Assert.Equal("Upload Resumption Supported", interim.ReasonPhrase);
        Assert.Equal(201, final.StatusCode);
        Assert.Equal(version.ToString(CultureInfo.InvariantCulture), interim.Header("Upload-Draft-Interop-Version"));
        Assert.NotNull(interim.Header("Location"));
        Assert.Equal(final.Header("Location"), interim.Header("Location"));
        Assert.Equal("11", final.Header("Upload-Offset"));
        if (version >= 6)
        {
            var limit = interim.Header("Upload-Limit");
            Assert.NotNull(limit);
            Assert.Contains("min-size=0", limit, StringComparison.Ordinal);
            Assert.Contains(version == 6 ? "expires=" : "max-age=", limit, StringComparison.Ordinal);
        }
        else
        {
            Assert.Null(interim.Header("Upload-Limit"));
        }
    }

    [Fact]
    public async Task Complete_creation_also_gets_104_and_the_limits()
    {
        var responses = await CreateRawAsync("small", "Upload-Draft-Interop-Version: 8", "Upload-Complete: ?1");

        Assert.Equal([104, 201], responses.Select(r => r.StatusCode));
        Assert.Contains("max-size=1024", responses[0].Header("Upload-Limit") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_104_without_the_interop_version_header()
    {
        var responses = await CreateRawAsync("default", "Upload-Complete: ?0");

        var final = Assert.Single(responses);
        Assert.Equal(201, final.StatusCode);
        Assert.NotNull(final.Header("Location"));
    }

    [Theory]
    [InlineData("2")]
    [InlineData("9")]
    [InlineData("abc")]
    public async Task No_104_for_an_unsupported_interop_version(string value)
    {
        var responses = await CreateRawAsync("default", $"Upload-Draft-Interop-Version: {value}", "Upload-Complete: ?0");

        Assert.DoesNotContain(responses, r => r.StatusCode == 104);
        Assert.Equal(201, responses[^1].StatusCode);
    }

    [Fact]
    public async Task No_104_on_a_target_with_interim_responses_off()
    {
        var responses = await CreateRawAsync("no104", "Upload-Draft-Interop-Version: 8", "Upload-Complete: ?0");

        var final = Assert.Single(responses);
        Assert.Equal(201, final.StatusCode);
        Assert.Equal("8", final.Header("Upload-Draft-Interop-Version"));
    }

    [Fact]
    public async Task Appends_get_no_104_with_a_location()
    {
        var location = (await CreateRawAsync("default", "Upload-Draft-Interop-Version: 8", "Upload-Complete: ?0"))[^1].Header("Location")!;
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(RawHttpConnection.Head(
            "PATCH", location, "Upload-Draft-Interop-Version: 8", "Upload-Offset: 11", "Upload-Complete: ?1",
            "Content-Type: application/partial-upload", "Content-Length: 3"));
        await connection.SendAsync("abc"u8.ToArray());

        var responses = await connection.ReadUntilFinalAsync();

        Assert.All(responses.Where(r => r.StatusCode == 104), r => Assert.Null(r.Header("Location")));
        Assert.Equal(200, responses[^1].StatusCode);
        Assert.Equal("14", responses[^1].Header("Upload-Offset"));
    }
}
