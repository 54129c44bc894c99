using Microsoft.AspNetCore.Http;
using StorageBridge.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Security;

/// <summary>401 and 403 answers: problem details, WWW-Authenticate on 401, and Tus-Resumable on answers to tus requests.</summary>
internal static class SecurityResponses
{
    public const string Realm = "storagebridge";

    public static Task UnauthorizedAsync(HttpContext context, TargetAuthOptions settings, bool invalid, string detail)
    {
        var challenges = new List<string>(2);
        if (settings.Jwt is not null || settings.ApiKeys.Count == 0)
        {
            challenges.Add(invalid ? $"Bearer realm=\"{Realm}\", error=\"invalid_token\"" : $"Bearer realm=\"{Realm}\"");
        }

        if (settings.ApiKeys.Count > 0)
        {
            challenges.Add($"{ApiKeys.AuthorizationScheme} realm=\"{Realm}\"");
        }

        context.Response.Headers.WWWAuthenticate = challenges.ToArray();
        return WriteAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }

    public static Task ForbiddenAsync(HttpContext context, string detail) =>
        WriteAsync(context, StatusCodes.Status403Forbidden, "Forbidden", detail);

    private static Task WriteAsync(HttpContext context, int status, string title, string detail)
    {
        // tus 1.0: every response but OPTIONS carries Tus-Resumable, refusals included.
        if (context.Request.Headers.ContainsKey(Protocols.Tus.TusUploadHandler.HeaderName))
        {
            context.Response.Headers[Protocols.Tus.TusUploadHandler.HeaderName] = Protocols.Tus.TusHeaders.Version;
        }

        return ProblemResults.WriteAsync(context.Response, status, "about:blank", title, detail);
    }
}
