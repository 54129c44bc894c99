using System.Globalization;
using Microsoft.AspNetCore.Http;
using StorageBridge.Coordination;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Authorization again at time of use (the IETF draft's time-of-check/time-of-use note): right before an upload is
/// committed, the caller admitted when its request started must still be admitted. A token that expired while the body
/// streamed, an API key a configuration reload removed or changed, or a target that stopped serving anonymous callers
/// refuse (401); required claims that changed refuse (403). The engine then keeps the bytes but does not complete.
/// </summary>
internal sealed class UploadAuthorization(TargetAuthentication targets, string target, CallerKind kind, string? keyName, TimeProvider time)
{
    public const string CheckItem = "StorageBridge.UploadAuthorization";
    private const string RefusalItem = "StorageBridge.UploadAuthorization.Refusal";

    /// <summary>The check for <see cref="AppendRequest.AuthorizeCompletion"/>, or null when no gate admitted the request.</summary>
    public static Func<CancellationToken, ValueTask<bool>>? CompletionCheck(HttpContext context) =>
        context.Items.TryGetValue(CheckItem, out var value) && value is UploadAuthorization check
            ? _ => ValueTask.FromResult(check.StillAdmits(context))
            : null;

    /// <summary>The answer to <see cref="UploadOutcome.Forbidden"/>: 401 or 403 as the completion check decided, else 403 (a claim the key template needs).</summary>
    public static Task WriteRefusalAsync(HttpContext context)
    {
        var settings = context.Items.TryGetValue(CheckItem, out var value) && value is UploadAuthorization check
            ? check.CurrentSettings
            : new TargetAuthOptions();
        return context.Items.TryGetValue(RefusalItem, out var status) && status is StatusCodes.Status401Unauthorized
            ? SecurityResponses.UnauthorizedAsync(context, settings, invalid: true,
                "The credentials expired or were revoked before the upload could complete; the bytes received are kept: resume with valid credentials.")
            : SecurityResponses.ForbiddenAsync(context,
                "The credentials do not permit this upload (a required claim is missing or unsafe); the bytes received, if any, are kept.");
    }

    private TargetAuthOptions CurrentSettings => targets.For(target);

    private bool StillAdmits(HttpContext context)
    {
        var settings = targets.For(target);
        var admitted = kind switch
        {
            CallerKind.Anonymous => targets.AllowsAnonymous(settings),
            CallerKind.Jwt => settings.Jwt is not null && NotExpired(context),
            CallerKind.ApiKey => keyName is not null && settings.ApiKeys.TryGetValue(keyName, out _)
                && ApiKeys.Presented(context.Request) is { } presented && ApiKeys.Match(settings, presented)?.Key == keyName,
            _ => NotExpired(context),
        };
        if (!admitted)
        {
            context.Items[RefusalItem] = StatusCodes.Status401Unauthorized;
            return false;
        }

        var registry = context.RequestServices.GetService(typeof(Targets.UploadTargetRegistry)) as Targets.UploadTargetRegistry;
        if (kind != CallerKind.Anonymous && registry?.Find(target) is { } uploadTarget
            && AuthenticationGate.Denial(context.User, settings, uploadTarget) is not null)
        {
            context.Items[RefusalItem] = StatusCodes.Status403Forbidden;
            return false;
        }

        return true;
    }

    /// <summary>A principal with an <c>exp</c> claim (seconds since the epoch) is admitted until then (with the clock skew).</summary>
    private bool NotExpired(HttpContext context)
    {
        if (context.User.FindFirst("exp")?.Value is not { } exp)
        {
            return kind != CallerKind.Jwt;
        }

        return long.TryParse(exp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds)
            && JwtSchemeOptions.IsWithinLifetime(null, DateTimeOffset.FromUnixTimeSeconds(seconds).UtcDateTime, time.GetUtcNow());
    }
}
