using System.Diagnostics;
using System.Globalization;
using System.Net;
using StorageBridge.Tests.Support;
using static StorageBridge.Protocol.Tests.Ietf.IetfProtocol;

namespace StorageBridge.Protocol.Tests.Ietf;

/// <summary>Dropped connections, takeover of a stalled append, and overlapping appends.</summary>
[Collection(IetfServerCollection.Name)]
public sealed class InterruptionTests(IetfServerFixture server)
{
    private HttpClient Client => server.Client;

    private static byte[] PatchHead(string location, long offset, long contentLength, bool complete) =>
        RawHttpConnection.Head(
            "PATCH", location,
            "Upload-Draft-Interop-Version: 8",
            $"Upload-Offset: {offset.ToString(CultureInfo.InvariantCulture)}",
            $"Upload-Complete: {(complete ? "?1" : "?0")}",
            "Content-Type: application/partial-upload",
            $"Content-Length: {contentLength.ToString(CultureInfo.InvariantCulture)}");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Dropped_connection_keeps_every_received_byte_and_the_upload_resumes(bool reset)
    {
        var data = TestData.Random(600_000, seed: 7);
        var location = await Client.CreateAsync("default", data[..1000], uploadLength: data.Length);
        const int sent = 250_000;

        var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(PatchHead(location, 1000, data.Length - 1000, complete: true));
        await connection.SendAsync(data.AsMemory(1000, sent));
        await Task.Delay(500);
        if (reset)
        {
            connection.Abort();
        }
        else
        {
            await connection.DisposeAsync();
        }

        // Let the server see the end of the connection before asking (a HEAD would otherwise cut the append short).
        await Task.Delay(1000);
        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
            Assert.Equal(1000 + sent, LongHeader(head, "Upload-Offset"));
            Assert.False(Complete(head, 8));
        }

        using var rest = await Client.AppendAsync(location, 1000 + sent, complete: true, data[(1000 + sent)..]);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Head_takes_over_a_stalled_append_promptly_and_the_upload_completes()
    {
        var data = TestData.Random(500_000, seed: 8);
        var location = await Client.CreateAsync("default", null);
        const int sent = 123_457;

        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(PatchHead(location, 0, data.Length, complete: true));
        await slow.SendAsync(data.AsMemory(0, sent));
        await Task.Delay(500);

        var clock = Stopwatch.StartNew();
        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"HEAD took {clock.Elapsed}");
            Assert.Equal(sent, LongHeader(head, "Upload-Offset"));
        }

        using var rest = await Client.AppendAsync(location, sent, complete: true, data[sent..]);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Patch_takes_over_a_stalled_append_from_the_offset_it_reached()
    {
        var data = TestData.Random(300_000, seed: 9);
        var location = await Client.CreateAsync("default", null, uploadLength: data.Length);
        const int sent = 100_000;

        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(PatchHead(location, 0, data.Length, complete: true));
        await slow.SendAsync(data.AsMemory(0, sent));
        await Task.Delay(500);

        // A resuming client that already knows the offset skips the HEAD: the PATCH itself ends the stalled one.
        var clock = Stopwatch.StartNew();
        using var rest = await Client.AppendAsync(location, sent, complete: true, data[sent..]);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"PATCH took {clock.Elapsed}");
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Stalled_append_answers_with_the_offset_it_kept()
    {
        var data = TestData.Random(200_000, seed: 10);
        var location = await Client.CreateAsync("default", null);

        await using var slow = await RawHttpConnection.ConnectAsync(server.Port);
        await slow.SendAsync(PatchHead(location, 0, data.Length, complete: true));
        await slow.SendAsync(data.AsMemory(0, 50_000));
        await Task.Delay(500);
        Assert.Equal(50_000, await Client.OffsetAsync(location));

        // The taken-over request must not claim more than it stored, and must not say complete.
        var responses = await slow.ReadUntilFinalAsync(timeout: TimeSpan.FromSeconds(10));
        var final = responses[^1];
        Assert.True(final.StatusCode < 500, final.ToString());
        if (final.Header("Upload-Offset") is { } offset)
        {
            Assert.Equal("50000", offset);
        }

        Assert.NotEqual("?1", final.Header("Upload-Complete"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Creation_cut_short_keeps_its_prefix_at_the_announced_location(bool takeOverWithHead)
    {
        var data = TestData.Random(500_000, seed: 12);
        const int sent = 200_000;
        var connection = await RawHttpConnection.ConnectAsync(server.Port);
        await connection.SendAsync(RawHttpConnection.Head(
            "POST", "/uploads/default", "Upload-Draft-Interop-Version: 8", "Upload-Complete: ?1",
            $"Content-Length: {data.Length.ToString(CultureInfo.InvariantCulture)}"));
        var interim = await connection.ReadMessageAsync();
        Assert.Equal(104, interim.StatusCode);
        var location = interim.Header("Location")!;
        await connection.SendAsync(data.AsMemory(0, sent));
        await Task.Delay(500);
        if (!takeOverWithHead)
        {
            connection.Abort();
            await Task.Delay(1000);
        }

        using (var head = await Client.HeadAsync(location))
        {
            Assert.Equal(HttpStatusCode.NoContent, head.StatusCode);
            Assert.Equal(sent, LongHeader(head, "Upload-Offset"));
            Assert.Equal(data.Length, LongHeader(head, "Upload-Length"));
            Assert.False(Complete(head, 8));
        }

        await connection.DisposeAsync();
        using var rest = await Client.AppendAsync(location, sent, complete: true, data[sent..]);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    [Fact]
    public async Task Overlapping_appends_never_corrupt_the_upload()
    {
        var data = TestData.Random(3_000_000, seed: 11);
        var location = await Client.CreateAsync("default", null, uploadLength: data.Length);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        async Task ResumeLoopAsync(int worker)
        {
            for (var attempt = 0; attempt < 40 && !deadline.IsCancellationRequested; attempt++)
            {
                long offset;
                try
                {
                    using var head = await Client.HeadAsync(location);
                    Assert.True((int)head.StatusCode < 500, head.StatusCode.ToString());
                    if (Complete(head, 8) == true)
                    {
                        return;
                    }

                    offset = LongHeader(head, "Upload-Offset")!.Value;
                }
                catch (HttpRequestException)
                {
                    // A pooled connection the server closed after an early answer to an append: ask again.
                    continue;
                }

                var request = Append(location, 8, offset, complete: true, []);
                request.Content = new SlowContent(data, (int)offset, chunk: 32 * 1024, delay: TimeSpan.FromMilliseconds(2 + worker));
                request.Content.Headers.ContentType = new(PartialUpload);
                try
                {
                    using var response = await Client.SendAsync(request, deadline.Token);
                    Assert.True((int)response.StatusCode < 500, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // The server answered early (taken over) while the body was still going out: resume.
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(worker => Task.Run(() => ResumeLoopAsync(worker))));

        using var final = await Client.HeadAsync(location);
        Assert.True(Complete(final, 8), "the upload never completed");
        Assert.Equal(data.Length, LongHeader(final, "Upload-Offset"));
        Assert.Equal(TestData.Sha256Hex(data), TestData.Sha256Hex(await Client.DownloadAsync(location)));
    }

    /// <summary>Streams a slice of a buffer in chunks with a pause between them, so requests overlap.</summary>
    private sealed class SlowContent(byte[] data, int start, int chunk, TimeSpan delay) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var position = start; position < data.Length; position += chunk)
            {
                await stream.WriteAsync(data.AsMemory(position, Math.Min(chunk, data.Length - position)));
                await Task.Delay(delay);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length - start;
            return true;
        }
    }
}
