using System.Text;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Interim;

// Temporary stand-in until the gated writer lands from its branch.
internal sealed class InterimResponseWriter
{
    private readonly HttpContext _context;

    private InterimResponseWriter(HttpContext context) => _context = context;

    public static InterimResponseWriter? TryCreate(HttpContext context) =>
        context.Request.Protocol == "HTTP/1.1" && context.Features.Get<IConnectionTransportFeature>() is not null ? new InterimResponseWriter(context) : null;

    public async Task<bool> TrySendAsync(int statusCode, string reasonPhrase, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken)
    {
        if (_context.Response.HasStarted) return false;
        var text = new StringBuilder($"HTTP/1.1 {statusCode} {reasonPhrase}\r\n");
        foreach (var (k, v) in headers) text.Append(k).Append(": ").Append(v).Append("\r\n");
        text.Append("\r\n");
        var output = _context.Features.Get<IConnectionTransportFeature>()!.Transport.Output;
        await output.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), cancellationToken);
        return true;
    }
}
