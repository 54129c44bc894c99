using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace StorageBridge.Protocol.Tests.Security;

/// <summary>JWTs of a local test issuer (HMAC-SHA256) and API keys with their configured hashes.</summary>
public sealed class TestTokens(TimeProvider time)
{
    public const string Issuer = "https://issuer.test";
    public const string Audience = "storagebridge";

    /// <summary>The issuer's key (base64, as <c>Auth:Jwt:SigningKey</c> takes it).</summary>
    public static readonly string SigningKey = Convert.ToBase64String(SHA256.HashData("storagebridge test issuer"u8));

    private static readonly string OtherKey = Convert.ToBase64String(SHA256.HashData("somebody else's issuer"u8));

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A token for <paramref name="subject"/> of <paramref name="tenant"/>, valid for an hour unless told otherwise.</summary>
    public string Jwt(
        string subject, string? tenant, TimeSpan? lifetime = null, string audience = Audience, string issuer = Issuer, bool badSignature = false,
        IReadOnlyDictionary<string, object>? claims = null)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var expires = now + (lifetime ?? TimeSpan.FromHours(1));
        var all = new Dictionary<string, object> { ["sub"] = subject };
        if (tenant is not null)
        {
            all["tenant"] = tenant;
        }

        foreach (var (type, value) in claims ?? new Dictionary<string, object>())
        {
            all[type] = value;
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = expires < now ? expires - TimeSpan.FromHours(1) : now,
            NotBefore = expires < now ? expires - TimeSpan.FromHours(1) : now,
            Expires = expires,
            Claims = all,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Convert.FromBase64String(badSignature ? OtherKey : SigningKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}
