using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using StorageBridge.AspNetCore.Http;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// CORS per target, with ASP.NET Core's own <see cref="ICorsService"/> and one <see cref="CorsPolicy"/> per target (no
/// <c>app.UseCors()</c> needed in any host). A request without <c>Origin</c>, or from the server's own origin, passes
/// untouched. From another origin: an allowed one gets its preflight answered here (204, before any credentials are
/// asked for) and the CORS headers on whatever answer follows, errors included; any other is refused with 403 before a
/// handler runs, which matters because a multipart Resumable.js POST is a "simple" request browsers send without
/// asking first.
/// </summary>
internal sealed partial class CorsGate(TargetBrowserPolicies policies, ICorsService cors, ILogger<CorsGate> logger) : ITargetRequestGate
{
    public int Order => TargetGateOrder.Cors;

    public async ValueTask<bool> PassAsync(HttpContext context, UploadTarget target)
    {
        var request = context.Request;
        var policy = policies.CorsFor(target.Name);
        if (policy is { AllowAnyOrigin: false })
        {
            // Answers differ by Origin (a same-origin one has no Access-Control-Allow-Origin): caches must key on it.
            context.Response.OnStarting(AddVaryOrigin, context.Response);
        }

        var origins = request.Headers.Origin;
        if (origins.Count == 0)
        {
            return true;
        }

        var origin = origins.ToString();
        if (origins.Count > 1)
        {
            return await RefuseAsync(context, target, origin);
        }

        if (IsSameOrigin(origin, request))
        {
            return true;
        }

        var result = policy is null ? null : cors.EvaluatePolicy(context, policy);
        if (result is not { IsOriginAllowed: true })
        {
            return await RefuseAsync(context, target, origin);
        }

        if (result.IsPreflightRequest)
        {
            cors.ApplyResult(result, context.Response);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return false;
        }

        // Applied as the answer starts, so every answer carries them: also one written after Response.Clear()
        // (failures), and the 401/403/429 of the gates after this one.
        context.Response.OnStarting(
            static state =>
            {
                var (service, evaluated, response) = ((ICorsService, CorsResult, HttpResponse))state;
                service.ApplyResult(evaluated, response);
                return Task.CompletedTask;
            },
            (cors, result, context.Response));
        return true;
    }

    /// <summary>
    /// Same origin: the Origin's host and port are those of the request's Host header (a Host without a port matches an
    /// Origin on its scheme's default port). The scheme is not compared, so
    /// a page behind a TLS-terminating proxy (https outside, http to the bridge) stays same-origin; a browser sets Host
    /// itself, so another site's page cannot claim it.
    /// </summary>
    internal static bool IsSameOrigin(string origin, HttpRequest request)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !request.Host.HasValue)
        {
            return false;
        }

        var host = request.Host;
        return string.Equals(uri.Host.Trim('[', ']'), host.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase)
            && (host.Port is int port ? uri.Port == port : uri.IsDefaultPort);
    }

    private async Task<bool> RefuseAsync(HttpContext context, UploadTarget target, string origin)
    {
        LogOriginRefused(logger, origin, target.Name, context.Request.Method);
        if (context.Request.Headers.ContainsKey("Tus-Resumable"))
        {
            context.Response.Headers["Tus-Resumable"] = "1.0.0";
        }

        await ProblemResults.WriteAsync(
            context.Response, StatusCodes.Status403Forbidden, "about:blank", "Forbidden",
            "Requests from this origin are not allowed on this target (see its Cors:AllowedOrigins).");
        return false;
    }

    private static Task AddVaryOrigin(object state)
    {
        var response = (HttpResponse)state;
        if (!response.Headers.Vary.Any(v => v?.Contains(HeaderNames.Origin, StringComparison.OrdinalIgnoreCase) == true))
        {
            response.Headers.Append(HeaderNames.Vary, HeaderNames.Origin);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Diagnostics.EventIds.Browsers.OriginRefused, LogLevel.Information, "Refused a {Method} from origin {Origin} on target {Target} (not allowed by its Cors:AllowedOrigins); answered 403")]
    private static partial void LogOriginRefused(ILogger logger, string origin, string target, string method);
}
