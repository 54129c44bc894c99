using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace StorageBridge.Protocol.Tests.Interim;

/// <summary>
/// Many requests over parallel keep-alive connections with Expect: 100-continue and chunked bodies, progress 104s
/// after every server read. Clients either wait for 100 Continue or send at once, so Kestrel's 100 Continue lands at
/// varying points between our 104s. Every byte of every response must parse and every body hash must match.
/// </summary>
[Collection(KestrelLoopbackCollection.Name)]
public sealed partial class InterimKestrelStressTests(ITestOutputHelper output)
{
    private const int Connections = 8;
    private const int Requests = 300;

    [Fact]
    public async Task ParallelConnections_ExpectContinue_ChunkedBodies_AllResponsesClean()
    {
        var endpoint = new InterimTestEndpoint { ReadBufferSize = 1500 };
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        var next = 0;
        var locations = new ConcurrentBag<string>();
        var interimCount = 0;
        var continueCount = 0;

        async Task RunConnectionAsync()
        {
            await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
            int index;
            while ((index = Interlocked.Increment(ref next)) <= Requests)
            {
                var (interim, continues, location) = await RunRequestAsync(connection, index);
                Interlocked.Add(ref interimCount, interim);
                Interlocked.Add(ref continueCount, continues);
                locations.Add(location);
            }
        }

        var clients = Enumerable.Range(0, Connections).Select(_ => Task.Run(RunConnectionAsync)).ToArray();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(Requests, locations.Distinct().Count());
        Assert.Equal(Requests, endpoint.Observations.Count);
        Assert.All(endpoint.Observations, o => Assert.Null(o.Error));
        Assert.All(endpoint.Observations, o => Assert.All(o.SendResults, Assert.True));
        Assert.True(continueCount > 0, "No request exercised Kestrel's 100 Continue.");
        output.WriteLine($"{Requests} requests, {interimCount} interim responses on the wire, {continueCount} of them 100 Continue.");
    }

    private static async Task<(int Interim, int Continues, string Location)> RunRequestAsync(RawHttpConnection connection, int index)
    {
        var random = new Random(index);
        var chunked = index % 4 != 0;
        var size = index % 10 == 0 && chunked ? 0 : random.Next(1, 40_000);
        var body = new byte[size];
        random.NextBytes(body);
        var waitForContinue = random.Next(2) == 0;

        var framing = chunked ? "Transfer-Encoding: chunked" : $"Content-Length: {size}";
        await connection.SendAsync($"PATCH /files/{index} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\nExpect: 100-continue\r\n{framing}\r\n\r\n");

        var early = new List<RawHttpMessage>();
        if (waitForContinue)
        {
            // Initial 104 (before the first read), then Kestrel's 100 from inside that read.
            early.Add(await connection.ReadMessageAsync());
            early.Add(await connection.ReadMessageAsync());
            Assert.Equal(104, early[0].StatusCode);
            Assert.Equal(InterimAssert.ContinueBlock, early[1].RawHead);
        }

        var sent = 0;
        while (sent < size)
        {
            var piece = Math.Min(size - sent, random.Next(1, 6000));
            var data = body.AsMemory(sent, piece);
            await (chunked ? connection.SendChunkAsync(data) : connection.SendAsync(data));
            sent += piece;
            if (random.Next(6) == 0)
            {
                // Let the server catch up so progress 104s interleave with further body bytes.
                await Task.Delay(1);
            }
        }

        if (chunked)
        {
            await connection.SendAsync("0\r\n\r\n");
        }

        var exchange = await connection.ReadExchangeAsync();
        var all = new RawHttpExchange([.. early, .. exchange.Interim], exchange.Final);
        var location = all.Interim[0].Header("Location") ?? throw new FormatException($"No Location on first 1xx:\n{all.Interim[0].RawHead}");
        Assert.Matches(UploadPath(), location);
        InterimAssert.CreationExchange(all, location, body, allowContinue: true);
        return (all.Interim.Count, all.Interim.Count(m => m.StatusCode == 100), location);
    }

    [GeneratedRegex(@"^/uploads/\d+$")]
    private static partial Regex UploadPath();
}
