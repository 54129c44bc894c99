using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Http;

/// <summary>
/// The request body as the front-ends and the engine read it. It remembers why a read failed: the engine keeps the
/// bytes of a body that broke off and reports only that it ended early, but the answer depends on why (Kestrel's
/// 408 for a body too slow, 400 for broken framing). And it keeps bytes that arrived together with the client's FIN:
/// Kestrel's Content-Length body refuses to hand out data once it has seen the end of the connection ("unexpected
/// end of request content"), although those bytes are still in the connection's input; they are read from there,
/// up to the announced length, so that an interrupted upload keeps every byte that arrived. A cancelled read (a newer
/// request took over) ends through the body's <see cref="PipeReader.CancelPendingRead"/> rather than the read's token:
/// a Kestrel body read cancelled by token is left "already in progress", so Kestrel could neither drain the body nor
/// send the answer afterwards.
/// </summary>
internal sealed class GuardedRequestBody(Stream inner, long? contentLength, IConnectionTransportFeature? connection, PipeReader? reader = null) : Stream
{
    private long _delivered;

    private bool _ended;

    /// <summary>True until a read returned the body's end (or delivered all announced bytes).</summary>
    public bool Unfinished => !_ended && (contentLength is not long length || _delivered < length);

    /// <summary>The first exception a read threw, if any.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>The status that says what was wrong with the body: Kestrel's own (400, 408, 413) or 400.</summary>
    public int Status => Failure is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest;

    /// <summary>Called with each read's byte count before the bytes are handed out (the per-principal byte rate: Limits/).</summary>
    public Func<int, CancellationToken, ValueTask>? Throttle { get; set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Wraps the request's body (before it is replaced: the pipe reader must be the server's own).</summary>
    public static GuardedRequestBody For(HttpContext context) =>
        new(context.Request.Body, context.Request.ContentLength, context.Features.Get<IConnectionTransportFeature>(), context.Request.BodyReader);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var read = reader is not null && cancellationToken.CanBeCanceled
                ? await ReadPipeAsync(reader, buffer, cancellationToken)
                : await inner.ReadAsync(buffer, cancellationToken);
            _delivered += read;
            _ended |= read == 0 && buffer.Length > 0;
            if (read > 0 && Throttle is { } throttle)
            {
                await throttle(read, cancellationToken);
            }

            return read;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status400BadRequest && ReadArrived(buffer.Span) is > 0 and var rescued)
        {
            // Kestrel saw the FIN behind these bytes and refused them; they are the client's, they arrived.
            _delivered += rescued;
            return rescued;
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException)
        {
            Failure ??= ex;
            throw;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Request bodies are read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>One read from the body's pipe, ended by <see cref="PipeReader.CancelPendingRead"/> when the token fires.</summary>
    private static async ValueTask<int> ReadPipeAsync(PipeReader pipe, Memory<byte> destination, CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result;
            using (cancellationToken.UnsafeRegister(static state => ((PipeReader)state!).CancelPendingRead(), pipe))
            {
                result = await pipe.ReadAsync(CancellationToken.None);
            }

            var buffer = result.Buffer;
            if (buffer.Length > 0)
            {
                // Bytes that arrived count even when the read was cancelled: they are stored before the takeover.
                var count = (int)Math.Min(buffer.Length, destination.Length);
                buffer.Slice(0, count).CopyTo(destination.Span);
                pipe.AdvanceTo(buffer.GetPosition(count));
                return count;
            }

            pipe.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            if (result.IsCompleted)
            {
                return 0;
            }
        }
    }

    /// <summary>Body bytes still in the connection's input after a Content-Length body ended early (only what is there already).</summary>
    private int ReadArrived(Span<byte> buffer)
    {
        if (contentLength is not long length || _delivered >= length || connection?.Transport.Input is not PipeReader input
            || !input.TryRead(out var result))
        {
            return 0;
        }

        var available = result.Buffer;
        var count = (int)Math.Min(Math.Min(available.Length, length - _delivered), buffer.Length);
        available.Slice(0, count).CopyTo(buffer);
        input.AdvanceTo(available.GetPosition(count));
        return count;
    }
}
