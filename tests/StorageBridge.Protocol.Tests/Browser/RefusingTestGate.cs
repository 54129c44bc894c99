using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Security;
using StorageBridge.Targets;

namespace StorageBridge.Protocol.Tests.Browser;

/// <summary>
/// Stands in for the gates after CORS (authentication at Order 200): on request header <c>X-Test-Gate</c> it answers
/// 401 with <c>WWW-Authenticate</c> itself (<c>refuse</c>) or throws (<c>throw</c>, answered 500 after the endpoint
/// clears the response), so the tests can check that the CORS headers reach such answers too.
/// </summary>
internal sealed class RefusingTestGate : ITargetRequestGate
{
    public const string Header = "X-Test-Gate";

    public int Order => TargetGateOrder.Authentication;

    public async ValueTask<bool> PassAsync(HttpContext context, UploadTarget target)
    {
        switch (context.Request.Headers[Header].ToString())
        {
            case "refuse":
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await context.Response.WriteAsync("no credentials", context.RequestAborted);
                return false;
            case "throw":
                context.Response.Headers["X-Lost-By-Clear"] = "1";
                throw new InvalidOperationException("test gate failure");
            default:
                return true;
        }
    }
}
