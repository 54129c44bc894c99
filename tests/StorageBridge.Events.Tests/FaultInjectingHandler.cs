using System.Net;

namespace StorageBridge.Events.Tests;

/// <summary>What the wire does to a matching request.</summary>
public enum WireFault
{
    None,

    /// <summary>Answer 503 without sending the request (the service never saw it).</summary>
    Unavailable,

    /// <summary>Send the request, then lose the answer as a reset connection (the service did the work).</summary>
    ResetAfter,
}

/// <summary>
/// Fault injection in an SDK's own HTTP pipeline: the real SDK with its retries and error parsing runs unchanged, only
/// the wire misbehaves, for requests <see cref="Matches"/> selects, at most <see cref="Remaining"/> times.
/// </summary>
public sealed class FaultInjectingHandler : DelegatingHandler
{
    private int _remaining;
    private int _injected;

    public FaultInjectingHandler()
        : base(new SocketsHttpHandler())
    {
    }

    public WireFault Fault { get; private set; }

    public Func<HttpRequestMessage, bool> Matches { get; set; } = _ => true;

    public int Injected => Volatile.Read(ref _injected);

    public void Set(WireFault fault, int times = int.MaxValue)
    {
        Fault = fault;
        Volatile.Write(ref _remaining, times);
        Volatile.Write(ref _injected, 0);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var fault = Fault;
        if (fault == WireFault.None || !Matches(request) || Interlocked.Decrement(ref _remaining) < 0)
        {
            return await base.SendAsync(request, cancellationToken);
        }

        Interlocked.Increment(ref _injected);
        if (fault == WireFault.Unavailable)
        {
            return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request, Content = new StringContent("") };
        }

        using var answered = await base.SendAsync(request, cancellationToken);
        await answered.Content.ReadAsByteArrayAsync(cancellationToken);
        throw new HttpRequestException("Injected: the connection was reset after the request was sent.", new IOException("Connection reset by peer"));
    }
}
