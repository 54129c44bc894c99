using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

[Collection(IetfServerCollection.Name)]
public sealed class CancelAndOptionsTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    [Theory]
    [MemberData(nameof(AllVersions), MemberType = typeof(IetfProtocol))]
    public async Task Delete_answers_204_then_the_upload_is_gone(int version)
    {
        var location = await Client.CreateAsync("default", TestData.Random(500), version: version);
        var staging = server.StagingFile("default", IdOf(location));
        Assert.True(File.Exists(staging));

        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, version)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
            AssertVersionEcho(delete, version);
        }

        Assert.False(File.Exists(staging), "staged bytes survive the cancellation");
        var gone = Effective(version) <= 5 ? HttpStatusCode.NotFound : HttpStatusCode.Gone;
        using (var head = await Client.HeadAsync(location, version))
        {
            Assert.Equal(gone, head.StatusCode);
        }

        using (var append = await Client.SendAsync(Append(location, version, 500, complete: true, TestData.Random(10))))
        {
            await AssertProblemAsync(append, gone);
        }

        using var again = await Client.SendAsync(Request(HttpMethod.Delete, location, version));
        await AssertProblemAsync(again, gone);
    }

    [Fact]
    public async Task Delete_ends_an_append_in_flight_promptly()
    {
        var location = await Client.CreateAsync("default", null);
        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(RawHttpConnection.Head(
            "PATCH", location, "Upload-Draft-Interop-Version: 8", "Upload-Offset: 0", "Upload-Complete: ?1",
            "Content-Type: application/partial-upload", "Content-Length: 1000000"));
        await slow.SendAsync(TestData.Random(100_000));
        await Task.Delay(300);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var delete = await Client.SendAsync(Request(HttpMethod.Delete, location, 8)))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"DELETE took {clock.Elapsed}");
        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        // Late bytes of the dead request must not bring the staging data back.
        await slow.SendAsync(TestData.Random(100_000));
        await Task.Delay(300);
        Assert.False(File.Exists(server.StagingFile("default", IdOf(location))));
    }

    [Fact]
    public async Task Delete_of_an_unknown_upload_is_404()
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Delete, $"/uploads/default/{new string('c', 32)}", 8));
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("default", null, null, null)]
    [InlineData("small", 1024L, null, null)]
    [InlineData("limited", null, 4096L, 16L)]
    public async Task Options_on_the_target_announces_the_limits(string target, long? maxSize, long? maxAppend, long? minAppend)
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Options, $"/uploads/{target}", 8));

        Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        var limits = Limits(response);
        Assert.Equal(0, limits["min-size"]);
        Assert.Equal(maxSize, limits.TryGetValue("max-size", out var a) ? a : null);
        Assert.Equal(maxAppend, limits.TryGetValue("max-append-size", out var b) ? b : null);
        Assert.Equal(minAppend, limits.TryGetValue("min-append-size", out var c) ? c : null);
        Assert.Contains(PartialUpload, Header(response, "Accept-Patch") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_without_a_version_header_still_announces_limits()
    {
        using var response = await Client.SendAsync(new HttpRequestMessage(HttpMethod.Options, "/uploads/small"));
        Assert.True(response.IsSuccessStatusCode);
        Assert.Equal(1024, Limits(response)["max-size"]);
        Assert.Equal(0, Limits(response)["min-size"]);
    }

    [Fact]
    public async Task Options_for_interop_6_names_the_expiry_expires()
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Options, "/uploads/default", 6));
        var limits = Limits(response);
        Assert.True(limits.ContainsKey("expires"), Header(response, "Upload-Limit"));
        Assert.False(limits.ContainsKey("max-age"), Header(response, "Upload-Limit"));
    }

    [Fact]
    public async Task Too_large_for_interop_6_names_the_expiry_expires()
    {
        var location = await Client.CreateAsync("limited", TestData.Random(100), version: 6);
        using var response = await Client.SendAsync(Append(location, 6, 100, complete: false, TestData.Random(5000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var limits = Limits(response);
        Assert.True(limits.ContainsKey("expires"), Header(response, "Upload-Limit"));
        Assert.False(limits.ContainsKey("max-age"), Header(response, "Upload-Limit"));
    }

    [Fact]
    public async Task Options_on_an_unknown_target_is_404()
    {
        using var response = await Client.SendAsync(Request(HttpMethod.Options, "/uploads/nope", 8));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
