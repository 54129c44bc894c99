namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Who may use a target (<c>StorageBridge:Targets:{name}:Auth</c>), bound as named options whose name is the target's
/// (<c>services.Configure&lt;TargetAuthOptions&gt;("photos", o => ...)</c> works too). Read on every request, so a
/// configuration reload (a removed API key, a changed claim) applies to the next request and to completions.
/// </summary>
public sealed class TargetAuthOptions
{
    /// <summary>
    /// True: requests without credentials are served (as the anonymous principal). Unset: anonymous only when the target
    /// names no <see cref="Jwt"/>, <see cref="ApiKeys"/> or <see cref="RequiredClaims"/> and the service is not exposed
    /// (<c>StorageBridge:Exposed</c>), so the embedded quick start keeps working.
    /// </summary>
    public bool? Anonymous { get; set; }

    /// <summary>Bearer tokens (JWT): from an OpenID Connect authority, or from a local issuer with a symmetric key.</summary>
    public TargetJwtOptions? Jwt { get; set; }

    /// <summary>API keys by name, each stored only as the hex SHA-256 of the key.</summary>
    public IDictionary<string, TargetApiKeyOptions> ApiKeys { get; } = new Dictionary<string, TargetApiKeyOptions>(StringComparer.Ordinal);

    /// <summary>Claims (type: value) every principal must hold to use the target at all; else 403.</summary>
    public IDictionary<string, string> RequiredClaims { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}

/// <summary>JWT bearer validation of a target: lifetime, issuer, audience and signature are always validated.</summary>
public sealed class TargetJwtOptions
{
    /// <summary>OpenID Connect authority (issuer and signing keys from its discovery document).</summary>
    public string? Authority { get; set; }

    /// <summary>The expected <c>iss</c> (with <see cref="SigningKey"/>; with <see cref="Authority"/> it overrides discovery).</summary>
    public string? Issuer { get; set; }

    /// <summary>The expected <c>aud</c>. Required.</summary>
    public string? Audience { get; set; }

    /// <summary>Base64 symmetric key (HMAC-SHA256, at least 32 bytes) of a local issuer.</summary>
    public string? SigningKey { get; set; }

    /// <summary>The claim naming the principal within its issuer; the owner id is <c>jwt:{iss}|{value}</c>. Default <c>sub</c>.</summary>
    public string OwnerClaim { get; set; } = "sub";
}

/// <summary>One API key of a target.</summary>
public sealed class TargetApiKeyOptions
{
    /// <summary>Hex SHA-256 of the key's UTF-8 bytes (64 hex digits); the key itself is never configured.</summary>
    public string? Sha256 { get; set; }

    /// <summary>Claims (type: value) the key's principal holds, e.g. a tenant.</summary>
    public IDictionary<string, string> Claims { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
