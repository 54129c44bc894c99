using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using StorageBridge.AspNetCore.Interim;

namespace StorageBridge.Protocol.Tests.Interim;

/// <summary>Formatting, validation and gate behaviour against an in-memory transport pipe (no sockets).</summary>
public sealed class InterimResponseWriterUnitTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    [Fact]
    public void Format_ProducesExactHttp11Block()
    {
        var bytes = InterimResponseFormatter.Format(104, "Upload Resumption Supported", InterimTestEndpoint.InitialHeaders("/uploads/7"));

        Assert.Equal(InterimTestEndpoint.InitialBlock("/uploads/7"), Encoding.ASCII.GetString(bytes));
    }

    [Fact]
    public void Format_NoHeaders_EndsWithBlankLine()
    {
        var bytes = InterimResponseFormatter.Format(103, "Early Hints", []);

        Assert.Equal("HTTP/1.1 103 Early Hints\r\n\r\n", Encoding.ASCII.GetString(bytes));
    }

    [Theory]
    [InlineData("Location", "/a\r\nX-Evil: 1")]
    [InlineData("Location", "/a\nX-Evil: 1")]
    [InlineData("Location", "/a\rX")]
    [InlineData("Location", "/a\0")]
    [InlineData("Location", "/caf\u00e9")]
    [InlineData("X-Evil\r\nLocation", "/a")]
    [InlineData("X Evil", "1")]
    [InlineData("X-Evil:", "1")]
    [InlineData("", "1")]
    [InlineData("\u00c4rger", "1")]
    [InlineData("Content-Length", "0")]
    [InlineData("transfer-encoding", "chunked")]
    public async Task TrySend_InvalidHeader_ThrowsAndWritesNothing(string name, string value)
    {
        var (context, pipe, _) = CreateContext();
        var writer = Assert.IsType<InterimResponseWriter>(InterimResponseWriter.TryCreate(context));

        await Assert.ThrowsAnyAsync<ArgumentException>(() => writer.TrySendAsync(104, "Upload Resumption Supported", [new(name, value)], CancellationToken.None));

        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Theory]
    [InlineData(99)]
    [InlineData(101)]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(0)]
    public async Task TrySend_NonInterimStatus_Throws(int status)
    {
        var (context, _, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => writer.TrySendAsync(status, "X", [], CancellationToken.None));
    }

    [Theory]
    [InlineData("Upload Resumption Supported\r\nX-Evil: 1")]
    [InlineData("Caf\u00e9")]
    public async Task TrySend_InvalidReasonPhrase_Throws(string reason)
    {
        var (context, _, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        await Assert.ThrowsAnyAsync<ArgumentException>(() => writer.TrySendAsync(104, reason, [], CancellationToken.None));
    }

    [Theory]
    [InlineData("HTTP/1.0")]
    [InlineData("HTTP/2")]
    [InlineData("HTTP/3")]
    public void TryCreate_NotHttp11_ReturnsNull(string protocol)
    {
        var (context, _, _) = CreateContext(protocol);

        Assert.Null(InterimResponseWriter.TryCreate(context));
    }

    [Fact]
    public void TryCreate_WithoutTransportFeature_ReturnsNull()
    {
        var context = new DefaultHttpContext();
        context.Request.Protocol = "HTTP/1.1";

        Assert.Null(InterimResponseWriter.TryCreate(context));
    }

    [Fact]
    public void TryCreate_TwiceForOneRequest_ReturnsSameWriterAndRegistersOneCallback()
    {
        var (context, _, response) = CreateContext();

        var first = InterimResponseWriter.TryCreate(context);
        var second = InterimResponseWriter.TryCreate(context);

        Assert.NotNull(first);
        Assert.Same(first, second);
        Assert.Single(response.StartingCallbacks);
        Assert.Single(response.CompletedCallbacks);
    }

    [Fact]
    public async Task TrySend_WritesExactBytesAndReturnsTrue()
    {
        var (context, pipe, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        Assert.True(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.InitialHeaders("/u/1"), CancellationToken.None));
        Assert.True(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(42), CancellationToken.None));

        Assert.Equal(InterimTestEndpoint.InitialBlock("/u/1") + InterimTestEndpoint.ProgressBlock(42), await ReadAvailableAsync(pipe));
    }

    [Fact]
    public async Task TrySend_AfterResponseStarted_ReturnsFalseAndWritesNothing()
    {
        var (context, pipe, response) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        await response.StartAsync();

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task TrySend_GateClosedByOnStarting_ReturnsFalseEvenBeforeHasStarted()
    {
        var (context, pipe, response) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        // Run the callbacks but keep HasStarted false: the gate alone must refuse.
        await response.RunStartingCallbacksAsync();

        Assert.False(response.HasStarted);
        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task TrySend_AfterRequestCompletedWithoutOnStarting_ReturnsFalse()
    {
        // Kestrel's 500 after an app exception skips OnStarting; completion must still close the gate.
        var (context, pipe, response) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        await response.RunCompletedCallbacksAsync();

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task OnStarting_WaitsForWriteInProgress()
    {
        // A tiny pause threshold makes the flush pend until the reader drains, i.e. a write "in progress".
        var (context, pipe, response) = CreateContext(pipeOptions: new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 8, useSynchronizationContext: false));
        var writer = InterimResponseWriter.TryCreate(context)!;

        var send = writer.TrySendAsync(104, InterimTestEndpoint.Reason, InterimTestEndpoint.ProgressHeaders(1), CancellationToken.None);
        Assert.False(send.IsCompleted);

        var starting = response.RunStartingCallbacksAsync();
        await Task.Delay(100);
        Assert.False(starting.IsCompleted);

        Assert.Equal(InterimTestEndpoint.ProgressBlock(1), await ReadAvailableAsync(pipe));
        Assert.True(await send.WaitAsync(Bounded));
        await starting.WaitAsync(Bounded);

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
    }

    [Fact]
    public async Task TrySend_PendingFlushCancelled_ReturnsFalseWithoutThrowing()
    {
        var (context, _, response) = CreateContext(pipeOptions: new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 8, useSynchronizationContext: false));
        var writer = InterimResponseWriter.TryCreate(context)!;
        using var cts = new CancellationTokenSource();

        var send = writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], cts.Token);
        Assert.False(send.IsCompleted);
        await cts.CancelAsync();

        Assert.False(await send.WaitAsync(Bounded));

        // The gate was released: the response can start.
        await response.RunStartingCallbacksAsync().WaitAsync(Bounded);
    }

    [Fact]
    public async Task TrySend_RequestAbortedWhileFlushPending_ReturnsFalse()
    {
        using var aborted = new CancellationTokenSource();
        var (context, _, _) = CreateContext(pipeOptions: new PipeOptions(pauseWriterThreshold: 8, resumeWriterThreshold: 8, useSynchronizationContext: false));
        context.RequestAborted = aborted.Token;
        var writer = InterimResponseWriter.TryCreate(context)!;

        // The caller passes no token at all; RequestAborted is linked in by the writer.
        var send = writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None);
        Assert.False(send.IsCompleted);
        await aborted.CancelAsync();

        Assert.False(await send.WaitAsync(Bounded));
        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
    }

    [Fact]
    public async Task TrySend_CancelledToken_ReturnsFalse()
    {
        var (context, pipe, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], new CancellationToken(canceled: true)));
        Assert.False(pipe.Reader.TryRead(out _));
    }

    [Fact]
    public async Task TrySend_ReaderCompleted_FlushReportsCompletion_ReturnsFalse()
    {
        var (context, pipe, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;
        await pipe.Reader.CompleteAsync();

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
    }

    [Fact]
    public async Task TrySend_WriterCompletedByTeardown_ReturnsFalse()
    {
        var (context, pipe, _) = CreateContext();
        var writer = InterimResponseWriter.TryCreate(context)!;
        await pipe.Writer.CompleteAsync();

        Assert.False(await writer.TrySendAsync(104, InterimTestEndpoint.Reason, [], CancellationToken.None));
    }

    private static (DefaultHttpContext Context, Pipe Pipe, TestResponseFeature Response) CreateContext(string protocol = "HTTP/1.1", PipeOptions? pipeOptions = null)
    {
        var pipe = new Pipe(pipeOptions ?? PipeOptions.Default);
        var response = new TestResponseFeature();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseFeature>(response);
        context.Features.Set<IConnectionTransportFeature>(new TestTransportFeature(new DuplexPipe(new Pipe().Reader, pipe.Writer)));
        context.Request.Protocol = protocol;
        return (context, pipe, response);
    }

    private static async Task<string> ReadAvailableAsync(Pipe pipe)
    {
        using var timeout = new CancellationTokenSource(Bounded);
        var result = await pipe.Reader.ReadAsync(timeout.Token);
        var text = Encoding.ASCII.GetString(result.Buffer.ToArray());
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private sealed class TestTransportFeature(IDuplexPipe transport) : IConnectionTransportFeature
    {
        public IDuplexPipe Transport { get; set; } = transport;
    }

    /// <summary>Response feature whose OnStarting callbacks the test runs explicitly (DefaultHttpContext ignores them).</summary>
    private sealed class TestResponseFeature : IHttpResponseFeature
    {
        public List<(Func<object, Task> Callback, object State)> StartingCallbacks { get; } = [];
        public int StatusCode { get; set; } = 200;
        public string? ReasonPhrase { get; set; }
        public IHeaderDictionary Headers { get; set; } = new HeaderDictionary();
        public Stream Body { get; set; } = Stream.Null;
        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state) => StartingCallbacks.Add((callback, state));

        public List<(Func<object, Task> Callback, object State)> CompletedCallbacks { get; } = [];

        public void OnCompleted(Func<object, Task> callback, object state) => CompletedCallbacks.Add((callback, state));

        public async Task RunCompletedCallbacksAsync()
        {
            foreach (var (callback, state) in Enumerable.Reverse(CompletedCallbacks))
            {
                await callback(state);
            }
        }

        public async Task RunStartingCallbacksAsync()
        {
            foreach (var (callback, state) in Enumerable.Reverse(StartingCallbacks))
            {
                await callback(state);
            }
        }

        public async Task StartAsync()
        {
            await RunStartingCallbacksAsync();
            HasStarted = true;
        }
    }
}
