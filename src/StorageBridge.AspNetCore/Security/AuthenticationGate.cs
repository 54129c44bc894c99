using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Authentication and authorization of every request on a target (<see cref="TargetGateOrder.Authentication"/>).
/// The principal is the one the application's own authentication established (<c>UseAuthentication</c>, a group with
/// <c>RequireAuthorization</c>), else the one the target's JWT or API key scheme accepts, else anonymous where the
/// target allows it. No, bad or expired credentials: 401 with WWW-Authenticate; authenticated without the target's
/// <c>RequiredClaims</c> (or the claims its key template names): 403. OPTIONS (discovery, CORS preflight) needs none.
/// </summary>
internal sealed partial class AuthenticationGate(TargetAuthentication targets, TimeProvider time, ILogger<AuthenticationGate> logger) : ITargetRequestGate
{
    public int Order => TargetGateOrder.Authentication;

    public async ValueTask<bool> PassAsync(HttpContext context, UploadTarget target)
    {
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            return true;
        }

        var settings = targets.For(target.Name);
        var (principal, kind, failure) = await AuthenticateAsync(context, target, settings);
        if (principal is null)
        {
            if (failure is not null || !targets.AllowsAnonymous(settings))
            {
                Log.AuthenticationFailed(logger, target.Name, failure ?? "no credentials");
                await SecurityResponses.UnauthorizedAsync(context, settings, failure is not null, failure is null
                    ? "This target needs credentials: a bearer token or an API key."
                    : "The credentials are not valid for this target (bad signature, expired, wrong issuer or audience, or an unknown key).");
                return false;
            }

            if (!target.Options.AcceptsKeyClaimsOf(null))
            {
                await SecurityResponses.UnauthorizedAsync(context, settings, invalid: false, "This target files uploads by claims of the caller: send credentials.");
                return false;
            }

            context.Items[UploadAuthorization.CheckItem] = new UploadAuthorization(targets, target.Name, CallerKind.Anonymous, null, time);
            return true;
        }

        if (kind != CallerKind.Application)
        {
            context.User = principal;
        }

        if (Denial(principal, settings, target) is { } denial)
        {
            Log.AccessDenied(logger, target.Name, UploadPrincipals.OwnerOf(principal) ?? "", denial);
            await SecurityResponses.ForbiddenAsync(context, denial);
            return false;
        }

        var keyName = principal.FindFirst(ApiKeyAuthenticationHandler.KeyNameClaim)?.Value;
        context.Items[UploadAuthorization.CheckItem] = new UploadAuthorization(targets, target.Name, kind, keyName, time);
        return true;
    }

    /// <summary>Why an authenticated principal may not use the target (a missing required claim, a claim the key needs), or null.</summary>
    public static string? Denial(ClaimsPrincipal principal, TargetAuthOptions settings, UploadTarget target)
    {
        foreach (var (type, value) in settings.RequiredClaims)
        {
            if (!principal.HasClaim(type, value))
            {
                return string.Create(CultureInfo.InvariantCulture, $"The credentials lack the claim this target requires ({type}).");
            }
        }

        return target.Options.AcceptsKeyClaimsOf(principal)
            ? null
            : "The credentials lack a claim this target files uploads by, or its value is not a single safe path segment.";
    }

    private async Task<(ClaimsPrincipal? Principal, CallerKind Kind, string? Failure)> AuthenticateAsync(
        HttpContext context, UploadTarget target, TargetAuthOptions settings)
    {
        if (context.User.Identity is { IsAuthenticated: true })
        {
            return (context.User, CallerKind.Application, null);
        }

        string? failure = null;
        if (settings.Jwt is not null)
        {
            var jwt = await context.AuthenticateAsync(TargetAuthentication.JwtScheme(target.Name));
            if (jwt.Succeeded)
            {
                return (jwt.Principal, CallerKind.Jwt, null);
            }

            failure = jwt.Failure?.Message;
        }

        // A target without keys (an anonymous one, say) costs no handler; a key sent to it is ignored like any header.
        if (settings.ApiKeys.Count > 0)
        {
            var key = await context.AuthenticateAsync(TargetAuthentication.ApiKeyScheme(target.Name));
            if (key.Succeeded)
            {
                return (key.Principal, CallerKind.ApiKey, null);
            }

            failure ??= key.Failure?.Message;
        }

        return (null, CallerKind.Anonymous, failure);
    }

    private static partial class Log
    {
        [LoggerMessage(Diagnostics.EventIds.Security.AuthenticationFailed, LogLevel.Debug, "Target {Target}: request refused with 401 ({Reason})")]
        public static partial void AuthenticationFailed(ILogger logger, string target, string reason);

        [LoggerMessage(Diagnostics.EventIds.Security.AccessDenied, LogLevel.Information, "Target {Target}: {Owner} refused with 403 ({Reason})")]
        public static partial void AccessDenied(ILogger logger, string target, string owner, string reason);
    }
}

/// <summary>How the request's principal was established.</summary>
internal enum CallerKind
{
    Anonymous,
    Jwt,
    ApiKey,
    Application,
}
