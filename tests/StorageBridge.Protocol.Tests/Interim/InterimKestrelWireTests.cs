using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Interim;

namespace StorageBridge.Protocol.Tests.Interim;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KestrelLoopbackCollection
{
    // Real sockets and timing-sensitive interleavings: run these alone on the 2-core machine.
    public const string Name = "Kestrel loopback";
}

/// <summary>Exact wire checks of 104 interim responses sent through a real Kestrel, driven by raw sockets.</summary>
[Collection(KestrelLoopbackCollection.Name)]
public sealed class InterimKestrelWireTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    private static string Head(string method, string path, params string[] headers) =>
        $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpload-Draft-Interop-Version: 8\r\nUpload-Complete: ?1\r\n{string.Concat(headers.Select(h => h + "\r\n"))}\r\n";

    [Fact]
    public async Task ContentLengthBody_Initial104_Progress104_Then201_ExactWire()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);
        var body = "hello world"u8.ToArray();

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 11") + "hello world");
        var exchange = await connection.ReadExchangeAsync();

        InterimAssert.CreationExchange(exchange, "/uploads/1", body, allowContinue: false);
        // One read delivers all 11 bytes, so the wire is fully determined up to the final status line.
        Assert.StartsWith(InterimTestEndpoint.InitialBlock("/uploads/1") + InterimTestEndpoint.ProgressBlock(11) + "HTTP/1.1 201 Created\r\n", connection.ReceivedText);
        Assert.Equal(2, InterimAssert.Count(connection.ReceivedBytes, "HTTP/1.1 1"));
    }

    [Fact]
    public async Task ChunkedBody_ProgressBetweenReads_Then201()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Transfer-Encoding: chunked"));
        // The initial 104 is sent before the first body read, so it arrives before any body was sent.
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/1"), (await connection.ReadMessageAsync()).RawHead);

        await connection.SendChunkAsync("hello"u8.ToArray());
        await ReadProgressUntilAsync(connection, 5);
        await connection.SendChunkAsync(" chunked world"u8.ToArray());
        await ReadProgressUntilAsync(connection, 19);
        await connection.SendAsync("0\r\n\r\n");

        var exchange = await connection.ReadExchangeAsync();
        Assert.Empty(exchange.Interim);
        Assert.Equal(201, exchange.Final.StatusCode);
        Assert.Equal("/uploads/1", exchange.Final.Header("Location"));
        Assert.Equal(InterimTestEndpoint.ExpectedBody("hello chunked world"u8), exchange.Final.BodyText);

        // Re-parse the whole wire from scratch: one clean exchange, nothing else.
        await AssertWireIsSingleCreationAsync(connection.ReceivedBytes, "/uploads/1", "hello chunked world"u8.ToArray(), allowContinue: false);
    }

    [Fact]
    public async Task ExpectContinue_Order_104_100_Progress_201()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 10", "Expect: 100-continue"));

        // Our 104 precedes the first read; Kestrel writes 100 Continue from inside that read.
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/1"), (await connection.ReadMessageAsync()).RawHead);
        Assert.Equal(InterimAssert.ContinueBlock, (await connection.ReadMessageAsync()).RawHead);

        await connection.SendAsync("hello");
        await ReadProgressUntilAsync(connection, 5);
        await connection.SendAsync("world");
        await ReadProgressUntilAsync(connection, 10);

        var exchange = await connection.ReadExchangeAsync();
        Assert.Empty(exchange.Interim);
        Assert.Equal(201, exchange.Final.StatusCode);
        Assert.Equal(InterimTestEndpoint.ExpectedBody("helloworld"u8), exchange.Final.BodyText);

        var wire = connection.ReceivedText;
        Assert.StartsWith(InterimTestEndpoint.InitialBlock("/uploads/1") + InterimAssert.ContinueBlock + InterimTestEndpoint.ProgressBlock(5), wire);
        Assert.True(wire.IndexOf(InterimTestEndpoint.ProgressBlock(10), StringComparison.Ordinal) < wire.IndexOf("HTTP/1.1 201 Created\r\n", StringComparison.Ordinal));
        await AssertWireIsSingleCreationAsync(connection.ReceivedBytes, "/uploads/1", "helloworld"u8.ToArray(), allowContinue: true);
    }

    [Fact]
    public async Task KeepAlive_SecondAndPipelinedRequestsParseCleanly()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 5") + "first");
        InterimAssert.CreationExchange(await connection.ReadExchangeAsync(), "/uploads/1", "first"u8, allowContinue: false);

        await connection.SendAsync(Head("POST", "/files", "Transfer-Encoding: chunked") + "6\r\nsecond\r\n0\r\n\r\n");
        InterimAssert.CreationExchange(await connection.ReadExchangeAsync(), "/uploads/2", "second"u8, allowContinue: false);

        // Pipelined: both requests in one write; the second request's 104s must follow the first's 201.
        await connection.SendAsync(Head("POST", "/files", "Content-Length: 5") + "third" + Head("POST", "/files", "Content-Length: 6") + "fourth");
        InterimAssert.CreationExchange(await connection.ReadExchangeAsync(), "/uploads/3", "third"u8, allowContinue: false);
        InterimAssert.CreationExchange(await connection.ReadExchangeAsync(), "/uploads/4", "fourth"u8, allowContinue: false);

        Assert.All(endpoint.Observations, o => Assert.Null(o.Error));
        Assert.Equal(4, endpoint.Observations.Count);
    }

    [Fact]
    public async Task ConnectionClose_104Then201ThenServerCloses()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 5", "Connection: close") + "bye!!");
        var exchange = await connection.ReadExchangeAsync();

        InterimAssert.CreationExchange(exchange, "/uploads/1", "bye!!"u8, allowContinue: false);
        Assert.Equal("close", exchange.Final.Header("Connection"));
        Assert.True(await connection.WaitForServerCloseAsync(), "Server sent bytes after the final response.");
        await AssertWireIsSingleCreationAsync(connection.ReceivedBytes, "/uploads/1", "bye!!"u8.ToArray(), allowContinue: false);
    }

    [Fact]
    public async Task Http10Request_NoWriter_No1xxOnWire()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync("POST /files HTTP/1.0\r\nHost: 127.0.0.1\r\nUpload-Draft-Interop-Version: 8\r\nContent-Length: 5\r\n\r\nhello");
        var exchange = await connection.ReadExchangeAsync();

        Assert.Empty(exchange.Interim);
        Assert.Equal(201, exchange.Final.StatusCode);
        Assert.Equal(InterimTestEndpoint.ExpectedBody("hello"u8), exchange.Final.BodyText);
        Assert.Equal("0", exchange.Final.Header("X-Interim-Sent"));
        Assert.StartsWith("HTTP/1.1 201 Created\r\n", connection.ReceivedText);
        Assert.Equal(0, InterimAssert.Count(connection.ReceivedBytes, "HTTP/1.1 1"));

        var observation = Assert.Single(endpoint.Observations);
        Assert.False(observation.WriterCreated);
        Assert.Empty(observation.SendResults);
    }

    [Fact]
    public async Task SendAfterResponseStarted_ReturnsFalse_No1xxInsideResponse()
    {
        var results = new List<bool>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackKestrel.StartAsync(async context =>
        {
            var ct = context.RequestAborted;
            var writer = InterimResponseWriter.TryCreate(context)!;
            results.Add(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.InitialHeaders("/uploads/s"), ct));
            await context.Request.Body.CopyToAsync(Stream.Null, ct);

            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = "/uploads/s";
            await context.Response.StartAsync(ct);
            results.Add(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(1), ct));
            await context.Response.WriteAsync("part1", ct);
            await context.Response.Body.FlushAsync(ct);
            results.Add(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(2), ct));
            await context.Response.WriteAsync("part2", ct);
            done.SetResult();
        });
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 5", "Connection: close") + "hello");
        var exchange = await connection.ReadExchangeAsync();
        await done.Task.WaitAsync(Bounded);

        Assert.Equal([true, false, false], results);
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/s"), Assert.Single(exchange.Interim).RawHead);
        Assert.Equal(201, exchange.Final.StatusCode);
        Assert.Equal("chunked", exchange.Final.Header("Transfer-Encoding"));
        Assert.Equal("part1part2", exchange.Final.BodyText);
        Assert.True(await connection.WaitForServerCloseAsync());

        var wire = connection.ReceivedText;
        var finalAt = wire.IndexOf("HTTP/1.1 201 Created\r\n", StringComparison.Ordinal);
        Assert.DoesNotContain("HTTP/1.1 1", wire[finalAt..], StringComparison.Ordinal);
        Assert.DoesNotContain("Upload-Offset", wire, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GateRace_HelperTaskSendingWhileResponseStarts_No1xxInsideResponse()
    {
        // A helper task floods 104s while the request flow starts a chunked response. No body is read, so Kestrel
        // never writes 100 Continue; the only competing writer is the response start, which the gate orders.
        await using var server = await LoopbackKestrel.StartAsync(async context =>
        {
            var ct = context.RequestAborted;
            var writer = InterimResponseWriter.TryCreate(context)!;
            var sent = 0;
            var firstSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var helper = Task.Run(async () =>
            {
                for (long i = 0; ; i++)
                {
                    if (!await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(i), ct))
                    {
                        return;
                    }

                    Interlocked.Increment(ref sent);
                    firstSent.TrySetResult();
                }
            }, ct);

            await firstSent.Task.WaitAsync(Bounded, ct);
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = "/uploads/race";
            await context.Response.WriteAsync("abc", ct);
            await context.Response.WriteAsync("def", ct);
            await helper.WaitAsync(Bounded, ct);
            await context.Response.WriteAsync($"|{Volatile.Read(ref sent)}", ct);
        });
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        for (var i = 0; i < 40; i++)
        {
            await connection.SendAsync("GET /race HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            var exchange = await connection.ReadExchangeAsync();

            Assert.Equal(201, exchange.Final.StatusCode);
            Assert.Equal("/uploads/race", exchange.Final.Header("Location"));
            var parts = exchange.Final.BodyText.Split('|');
            Assert.Equal("abcdef", parts[0]);
            // Every send that reported success is on the wire, in order, before the 201, and nothing else.
            var sent = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(sent >= 1);
            Assert.Equal(sent, exchange.Interim.Count);
            for (var k = 0; k < sent; k++)
            {
                Assert.Equal(InterimTestEndpoint.ProgressBlock(k), exchange.Interim[k].RawHead);
            }
        }
    }

    [Fact]
    public async Task AppThrowsAfter104_Kestrel500FollowsCleanly_ConnectionStillUsable()
    {
        var endpoint = new InterimTestEndpoint();
        await using var server = await LoopbackKestrel.StartAsync(async context =>
        {
            if (context.Request.Path == "/boom")
            {
                var writer = InterimResponseWriter.TryCreate(context)!;
                await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.InitialHeaders("/uploads/boom"), context.RequestAborted);
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
                throw new InvalidOperationException("handler failure after the 104");
            }

            await endpoint.HandleAsync(context);
        });
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/boom", "Content-Length: 4") + "boom");
        var failed = await connection.ReadExchangeAsync();
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/boom"), Assert.Single(failed.Interim).RawHead);
        Assert.Equal(500, failed.Final.StatusCode);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 2") + "ok");
        InterimAssert.CreationExchange(await connection.ReadExchangeAsync(), "/uploads/1", "ok"u8, allowContinue: false);
    }

    [Fact]
    public async Task HeaderInjection_Throws_NothingInjectedOnWire()
    {
        Exception? thrown = null;
        await using var server = await LoopbackKestrel.StartAsync(async context =>
        {
            var ct = context.RequestAborted;
            var writer = InterimResponseWriter.TryCreate(context)!;
            try
            {
                await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [new("Location", "/uploads/1\r\nX-Injected: yes\r\n\r\nHTTP/1.1 200 OK")], ct);
            }
            catch (ArgumentException ex)
            {
                thrown = ex;
            }

            await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.InitialHeaders("/uploads/1"), ct);
            context.Response.StatusCode = StatusCodes.Status201Created;
            context.Response.Headers.Location = "/uploads/1";
        });
        await using var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 0"));
        var exchange = await connection.ReadExchangeAsync();

        Assert.IsType<ArgumentException>(thrown);
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/1"), Assert.Single(exchange.Interim).RawHead);
        Assert.Equal(201, exchange.Final.StatusCode);
        Assert.DoesNotContain("X-Injected", connection.ReceivedText, StringComparison.Ordinal);
        Assert.DoesNotContain("200 OK", connection.ReceivedText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientAbortsMidBody_TrySendReturnsFalseWithoutThrowing()
    {
        var outcome = new TaskCompletionSource<(Exception? ReadError, Exception? ImmediateSendError, bool AbortSignalled, bool? SendAfterAbort, Exception? SendError)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await LoopbackKestrel.StartAsync(async context =>
        {
            var ct = context.RequestAborted;
            var writer = InterimResponseWriter.TryCreate(context)!;
            await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.InitialHeaders("/uploads/1"), ct);
            var buffer = new byte[8192];
            long total = 0;
            Exception? readError = null;
            try
            {
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(total), ct);
                }
            }
            catch (Exception ex)
            {
                readError = ex;
            }

            // Right after the failed read (abort may or may not be signalled yet): must not throw either way.
            Exception? immediateError = null;
            try
            {
                await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(total), ct);
            }
            catch (Exception ex)
            {
                immediateError = ex;
            }

            var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => aborted.TrySetResult()))
            {
                await Task.WhenAny(aborted.Task, Task.Delay(Bounded, CancellationToken.None));
            }

            try
            {
                var result = await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(total), ct);
                outcome.SetResult((readError, immediateError, ct.IsCancellationRequested, result, null));
            }
            catch (Exception ex)
            {
                outcome.SetResult((readError, immediateError, ct.IsCancellationRequested, null, ex));
            }
        });
        var connection = await RawHttpConnection.ConnectAsync(server.Port);

        await connection.SendAsync(Head("POST", "/files", "Content-Length: 100000"));
        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/1"), (await connection.ReadMessageAsync()).RawHead);
        await connection.SendAsync(new byte[1000]);
        await ReadProgressUntilAsync(connection, 1000);
        connection.Abort();
        await connection.DisposeAsync();

        var (readError, immediateError, abortSignalled, sendAfterAbort, sendError) = await outcome.Task.WaitAsync(Bounded);
        Assert.NotNull(readError);
        Assert.Null(immediateError);
        Assert.True(abortSignalled);
        Assert.Null(sendError);
        Assert.False(sendAfterAbort);
    }

    [Fact]
    public async Task HttpClient_Skips104_AndReceivesFinal201()
    {
        var endpoint = new InterimTestEndpoint { ReadBufferSize = 1024 };
        await using var server = await LoopbackKestrel.StartAsync(endpoint.HandleAsync);
        using var client = new HttpClient { BaseAddress = server.BaseAddress, Timeout = Bounded };
        var body = new byte[100_000];
        new Random(104).NextBytes(body);

        using var withLength = await client.PostAsync("files", new ByteArrayContent(body));
        Assert.Equal(HttpStatusCode.Created, withLength.StatusCode);
        Assert.Equal("/uploads/1", withLength.Headers.Location?.OriginalString);
        Assert.Equal(InterimTestEndpoint.ExpectedBody(body), await withLength.Content.ReadAsStringAsync());

        // Chunked with Expect: 100-continue: HttpClient must wait past our 104 for Kestrel's 100.
        using var request = new HttpRequestMessage(HttpMethod.Post, "files") { Content = new ByteArrayContent(body) };
        request.Headers.ExpectContinue = true;
        request.Headers.TransferEncodingChunked = true;
        using var chunked = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, chunked.StatusCode);
        Assert.Equal("/uploads/2", chunked.Headers.Location?.OriginalString);
        Assert.Equal(InterimTestEndpoint.ExpectedBody(body), await chunked.Content.ReadAsStringAsync());

        Assert.All(endpoint.Observations, o => Assert.All(o.SendResults, Assert.True));
        Assert.All(endpoint.Observations, o => Assert.True(o.SendResults.Count > 2));
    }

    private static async Task ReadProgressUntilAsync(RawHttpConnection connection, long offset)
    {
        while (true)
        {
            var message = await connection.ReadMessageAsync();
            Assert.Equal(104, message.StatusCode);
            var value = long.Parse(message.Header("Upload-Offset")!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(InterimTestEndpoint.ProgressBlock(value), message.RawHead);
            Assert.True(value <= offset);
            if (value == offset)
            {
                return;
            }
        }
    }

    // Parses captured bytes with a fresh parser to prove the whole stream is exactly one well-formed exchange.
    private static async Task AssertWireIsSingleCreationAsync(byte[] wire, string location, byte[] body, bool allowContinue)
    {
        var replay = await RawHttpConnection.ParseAllAsync(wire);
        var exchange = Assert.Single(replay);
        InterimAssert.CreationExchange(exchange, location, body, allowContinue);
        Assert.Equal(Encoding.ASCII.GetString(wire), string.Concat(exchange.Interim.Select(m => m.RawHead)) + exchange.Final.RawHead + exchange.Final.BodyText);
    }
}
