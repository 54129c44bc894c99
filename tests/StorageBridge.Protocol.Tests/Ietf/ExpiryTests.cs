using System.Diagnostics;
using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>Target <c>short</c> expires uploads after 2 s; the cleanup service runs every second.</summary>
[Collection(IetfServerCollection.Name)]
public sealed class ExpiryTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    [Fact]
    public async Task Expired_upload_answers_410_and_its_staged_bytes_are_removed()
    {
        var location = await Client.CreateAsync("short", TestData.Random(5000), version: 8);
        var location5 = await Client.CreateAsync("short", TestData.Random(5000), version: 5);
        var staging = server.StagingFile("short", IdOf(location));
        Assert.True(File.Exists(staging), "the file backend stages bytes in .staging/{id}");

        using (var fresh = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, fresh.StatusCode);
            Assert.InRange(Limits(fresh)["max-age"], 0, 2);
        }

        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            await Task.Delay(250);
            using var head = await Client.HeadAsync(location);
            status = head.StatusCode;
        }
        while (status == HttpStatusCode.NoContent && clock.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"still active {clock.Elapsed} after a 2 s expiry");

        // One cleanup round handles both uploads one after the other: wait for both files, not just the first.
        var staging5 = server.StagingFile("short", IdOf(location5));
        while ((File.Exists(staging) || File.Exists(staging5)) && clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(250);
        }

        Assert.False(File.Exists(staging), "the cleanup service left the staged bytes behind");
        Assert.False(File.Exists(staging5), "the cleanup service left the second upload's staged bytes behind");

        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.Gone, head.StatusCode);
        }

        using (var head5 = await Client.HeadAsync(location5, 5))
        {
            Assert.Equal(HttpStatusCode.NotFound, head5.StatusCode);
        }

        using var append = await Client.AppendAsync(location, 5000, complete: true, TestData.Random(10));
        await AssertProblemAsync(append, HttpStatusCode.Gone);
    }

    [Fact]
    public async Task Completed_uploads_do_not_expire()
    {
        var data = TestData.Random(100);
        var location = await Client.CreateAsync("short", data, complete: true);
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal(data, await Client.DownloadAsync(location));
    }
}
