using System.Buffers;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Interim;

/// <summary>
/// Sends HTTP/1.1 informational responses (e.g. <c>104 Upload Resumption Supported</c>) on Kestrel, which has no
/// public 1xx API, by writing pre-formatted blocks to the connection's transport <see cref="System.IO.Pipelines.PipeWriter"/>.
/// </summary>
/// <remarks>
/// <para>Usage contract (breaking it can tear or misplace bytes on the shared connection):</para>
/// <list type="bullet">
/// <item>Call <see cref="TrySendAsync"/> from the request's own async flow: before the first request-body read or
/// between body reads (after a read has completed), never concurrently with a body read. Kestrel writes its
/// automatic <c>100 Continue</c> from inside a body read; a 1xx written at the same time tears it on the wire.
/// Calls are serialised with each other and with the response start, so another task may send only while no body
/// read can be in progress (bodyless request, or body fully read).</item>
/// <item>Do not call it after the request delegate has returned: Kestrel may be writing an error response or the
/// next request may own the connection.</item>
/// <item>Pass <see cref="HttpContext.RequestAborted"/> (or a token linked to it): the raw write bypasses Kestrel's
/// response data-rate timeout. The writer links it in anyway.</item>
/// </list>
/// <para>Once the final response starts (its <c>OnStarting</c> callback runs) the per-request gate closes, waiting for
/// any 1xx write in progress, so a 1xx can never land inside the final response. Later calls return false.</para>
/// <para>Interim responses are optional: a false result or a null writer only means the client got no 1xx, so the
/// final response must be self-sufficient.</para>
/// </remarks>
internal sealed class InterimResponseWriter
{
    private static readonly object ItemsKey = new();

    private readonly HttpContext _context;
    private readonly IConnectionTransportFeature _transport;

    // Held around each 1xx write; OnStarting takes it to close the gate, so it waits for a write in progress.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _closed;

    private InterimResponseWriter(HttpContext context, IConnectionTransportFeature transport)
    {
        _context = context;
        _transport = transport;
    }

    /// <summary>
    /// Returns the request's writer, or null when 1xx responses cannot be sent safely: the request is not HTTP/1.1
    /// (HTTP/1.0 has no 1xx; HTTP/2 and HTTP/3 use binary framing), no <see cref="IConnectionTransportFeature"/> is
    /// reachable (TestServer, IIS, HTTP.sys), or the response has already started. Idempotent per request.
    /// </summary>
    public static InterimResponseWriter? TryCreate(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        if (context.Items.TryGetValue(ItemsKey, out var existing) && existing is InterimResponseWriter writer)
        {
            return writer;
        }

        if (!HttpProtocol.IsHttp11(context.Request.Protocol) || context.Response.HasStarted)
        {
            return null;
        }

        // Kestrel's request features fall back to the connection's, which carry the transport pipe.
        var transport = context.Features.Get<IConnectionTransportFeature>();
        if (transport is null)
        {
            return null;
        }

        writer = new InterimResponseWriter(context, transport);
        context.Response.OnStarting(static state => ((InterimResponseWriter)state).CloseGateAsync(), writer);
        // Also on completion: when the app throws, Kestrel writes its 500 without running OnStarting, and Kestrel pools
        // HttpContext, so a writer kept past the request would otherwise read the next request's state.
        context.Response.OnCompleted(static state => ((InterimResponseWriter)state).CloseGateAsync(), writer);
        context.Items[ItemsKey] = writer;
        return writer;
    }

    /// <summary>
    /// Writes <c>HTTP/1.1 {statusCode} {reasonPhrase}</c> with <paramref name="headers"/> and flushes it.
    /// Returns false (never throws for these) when the gate is closed, the response has started, the request was
    /// aborted or <paramref name="cancellationToken"/> cancelled, or the flush reports cancellation or completion.
    /// Must be called from the request's own flow, never concurrently with a request-body read (see remarks).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Status code outside 100-199, or 101.</exception>
    /// <exception cref="ArgumentException">Reason phrase, header name or value containing CR, LF, controls or non-ASCII.</exception>
    public async Task<bool> TrySendAsync(int statusCode, string reasonPhrase, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        // Validate first: bad input is a programming error and must surface even when nothing would be sent.
        var block = InterimResponseFormatter.Format(statusCode, reasonPhrase, headers);

        if (!CanSend(cancellationToken))
        {
            return false;
        }

        // Always include RequestAborted so a stalled client cannot hold the gate (and thus the response) forever.
        var requestAborted = _context.RequestAborted;
        using var linked = cancellationToken == requestAborted || !requestAborted.CanBeCanceled
            ? null
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, requestAborted);
        var token = linked?.Token ?? cancellationToken;

        try
        {
            await _gate.WaitAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        try
        {
            // Re-check under the gate: OnStarting may have closed it while we waited.
            if (!CanSend(token))
            {
                return false;
            }

            var output = _transport.Transport.Output;
            output.Write(block);
            var result = await output.FlushAsync(token).ConfigureAwait(false);
            return !result.IsCanceled && !result.IsCompleted;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // The transport writer was completed by connection teardown: the 1xx was simply not sent.
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private bool CanSend(CancellationToken cancellationToken) =>
        !_closed
        && !_context.Response.HasStarted
        && !_context.RequestAborted.IsCancellationRequested
        && !cancellationToken.IsCancellationRequested;

    private async Task CloseGateAsync()
    {
        // No token: an in-progress write is bounded by RequestAborted, and the response must not start before it ends.
        await _gate.WaitAsync().ConfigureAwait(false);
        _closed = true;
        _gate.Release();
    }
}
