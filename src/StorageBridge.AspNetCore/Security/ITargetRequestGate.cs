using Microsoft.AspNetCore.Http;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// A check every request on a target's URLs passes before its protocol handler runs (CORS, authentication and
/// authorization, rate limits), in <see cref="Order"/>. A gate that refuses writes the answer itself.
/// </summary>
internal interface ITargetRequestGate
{
    /// <summary>Lower runs first: <see cref="TargetGateOrder"/>.</summary>
    int Order { get; }

    /// <summary>True: the request goes on; false: this gate has answered it (preflight, 401, 429...).</summary>
    ValueTask<bool> PassAsync(HttpContext context, UploadTarget target);
}

/// <summary>The order gates run in: CORS first (a preflight carries no credentials, and refusals need CORS headers to be readable).</summary>
internal static class TargetGateOrder
{
    public const int Cors = 100;
    public const int Authentication = 200;
    public const int RateLimits = 300;
}
