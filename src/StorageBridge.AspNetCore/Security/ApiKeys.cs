using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace StorageBridge.AspNetCore.Security;

/// <summary>API keys as requests carry them (<c>Authorization: ApiKey &lt;key&gt;</c> or <c>X-Api-Key</c>) and as targets store them (hex SHA-256).</summary>
internal static class ApiKeys
{
    public const string AuthorizationScheme = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    /// <summary>The 32 bytes of a 64-hex-digit SHA-256, or null.</summary>
    public static byte[]? ParseHash(string? hex)
    {
        if (hex is not { Length: 64 } || hex.AsSpan().IndexOfAnyExcept("0123456789abcdefABCDEF") >= 0)
        {
            return null;
        }

        return Convert.FromHexString(hex);
    }

    /// <summary>The key the request presents, or null (none, or an Authorization header of another scheme).</summary>
    public static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers[HeaderNames.Authorization].ToString();
        if (authorization.StartsWith(AuthorizationScheme + " ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[(AuthorizationScheme.Length + 1)..].Trim() is { Length: > 0 } key ? key : null;
        }

        return request.Headers[HeaderName].ToString().Trim() is { Length: > 0 } header ? header : null;
    }

    /// <summary>
    /// The configured key whose hash matches <paramref name="presented"/>, comparing against every key in constant time
    /// (no early exit), or null.
    /// </summary>
    public static KeyValuePair<string, TargetApiKeyOptions>? Match(TargetAuthOptions options, string presented)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        KeyValuePair<string, TargetApiKeyOptions>? found = null;
        foreach (var entry in options.ApiKeys)
        {
            if (ParseHash(entry.Value.Sha256) is { } stored && CryptographicOperations.FixedTimeEquals(hash, stored) && found is null)
            {
                found = entry;
            }
        }

        return found;
    }
}
