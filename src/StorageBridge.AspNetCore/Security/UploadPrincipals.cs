using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Who a request speaks for, as the engine records it (<c>UploadRecord.Owner</c>). Owner ids are stable and never
/// collide across kinds: <c>jwt:{issuer}|{subject}</c> (a target's JWT scheme), <c>key:{keyName}</c> (a target's API
/// key), <c>app:{authenticationType}|{subject}</c> (the application's own authentication).
/// </summary>
internal static class UploadPrincipals
{
    /// <summary>Claim our authentication handlers set to the stable owner id of a principal.</summary>
    public const string OwnerClaim = "storagebridge:owner";

    /// <summary>The owner id of the request's principal; null when the request is anonymous.</summary>
    public static string? OwnerOf(HttpContext context) => OwnerOf(context.User);

    public static string? OwnerOf(ClaimsPrincipal? user)
    {
        if (user?.Identity is not { IsAuthenticated: true } identity)
        {
            return null;
        }

        // Only our own handlers' identities may state an owner id: an application's identity carrying a claim of that
        // name (copied from some token) must not choose whose uploads it sees.
        foreach (var own in user.Identities)
        {
            if (own is { IsAuthenticated: true, AuthenticationType: JwtSchemeOptions.AuthenticationType or ApiKeyAuthenticationHandler.AuthenticationType }
                && own.FindFirst(OwnerClaim)?.Value is { Length: > 0 } owner)
            {
                return owner;
            }
        }

        var subject = user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst("sub")?.Value ?? identity.Name;
        return subject is { Length: > 0 } ? $"app:{Escape(identity.AuthenticationType ?? "")}|{subject}" : null;
    }

    /// <summary>
    /// The request's principal for the engine (claims for key templates, hooks and per-client limits): the authenticated
    /// one, or for an anonymous request the identity the rate-limit gate added (its client address claim); else null.
    /// </summary>
    public static ClaimsPrincipal? PrincipalOf(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true } || context.User.HasClaim(c => c.Type == Targets.TargetQuotas.AnonymousClientClaim)
            ? context.User
            : null;

    public static string JwtOwner(string issuer, string subject) => $"jwt:{Escape(issuer)}|{subject}";

    public static string ApiKeyOwner(string keyName) => $"key:{keyName}";

    /// <summary>'|' separates the issuer from the subject: escaped inside the issuer (and '%', the escape itself).</summary>
    private static string Escape(string value) => value.Replace("%", "%25", StringComparison.Ordinal).Replace("|", "%7C", StringComparison.Ordinal);
}
