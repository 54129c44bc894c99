using System.Security.Claims;
using Microsoft.AspNetCore.Http;

namespace StorageBridge.AspNetCore.Security;

/// <summary>Who a request speaks for, as the engine records it (<c>UploadRecord.Owner</c>).</summary>
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

        if (user.FindFirst(OwnerClaim)?.Value is { Length: > 0 } owner)
        {
            return owner;
        }

        var subject = user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst("sub")?.Value ?? identity.Name;
        return subject is { Length: > 0 } ? $"{identity.AuthenticationType}:{subject}" : null;
    }
}
