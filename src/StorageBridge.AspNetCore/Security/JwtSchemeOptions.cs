using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Configures the JWT bearer scheme of a target from its <see cref="TargetJwtOptions"/>: signature, issuer, audience
/// and lifetime (on the application's <see cref="TimeProvider"/>) are validated; claims keep their names as in the
/// token (<c>sub</c>, <c>tenant</c>); the principal gets its owner id <c>jwt:{iss}|{OwnerClaim}</c>.
/// </summary>
internal sealed class JwtSchemeOptions(IServiceProvider services, TimeProvider time) : IConfigureNamedOptions<JwtBearerOptions>
{
    public const string AuthenticationType = "StorageBridge.Jwt";

    /// <summary>Tolerance for clocks of issuers and this service that disagree a little.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public static byte[]? DecodeKey(string? base64)
    {
        try
        {
            return base64 is null ? null : Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public void Configure(string? name, JwtBearerOptions options)
    {
        if (name is null || TargetAuthentication.TargetOfScheme(name, "Jwt") is not { } target
            || services.GetRequiredService<TargetAuthentication>().For(target).Jwt is not { } jwt)
        {
            return;
        }

        options.MapInboundClaims = false;
        options.TimeProvider = time;
        options.Audience = jwt.Audience;
        if (!string.IsNullOrWhiteSpace(jwt.Authority))
        {
            options.Authority = jwt.Authority;
            options.RequireHttpsMetadata = !IsLoopbackHttp(jwt.Authority);
        }

        var key = DecodeKey(jwt.SigningKey);
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = true,
            IssuerSigningKey = key is null ? null : new SymmetricSecurityKey(key),
            // A local key signs with HMAC only: no algorithm confusion with "none" or asymmetric algorithms.
            ValidAlgorithms = key is null ? null : [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512],
            ClockSkew = ClockSkew,
            LifetimeValidator = (notBefore, expires, _, _) => IsWithinLifetime(notBefore, expires, time.GetUtcNow()),
            AuthenticationType = AuthenticationType,
            NameClaimType = jwt.OwnerClaim,
        };
        var ownerClaim = jwt.OwnerClaim;
        options.Events = new JwtBearerEvents
        {
            OnTokenValidated = context =>
            {
                var identity = context.Principal?.Identity as ClaimsIdentity;
                var subject = identity?.FindFirst(ownerClaim)?.Value;
                var issuer = identity?.FindFirst("iss")?.Value ?? context.SecurityToken?.Issuer;
                if (identity is null || string.IsNullOrEmpty(subject) || string.IsNullOrEmpty(issuer))
                {
                    context.Fail($"The token names no '{ownerClaim}' or issuer.");
                    return Task.CompletedTask;
                }

                identity.AddClaim(new Claim(UploadPrincipals.OwnerClaim, UploadPrincipals.JwtOwner(issuer, subject)));
                return Task.CompletedTask;
            },
        };
    }

    public void Configure(JwtBearerOptions options) => Configure(Options.DefaultName, options);

    /// <summary>Whether a token with these times is valid at <paramref name="now"/> (with <see cref="ClockSkew"/>); an expiry is required.</summary>
    public static bool IsWithinLifetime(DateTime? notBefore, DateTime? expires, DateTimeOffset now) =>
        expires is { } until && now.UtcDateTime <= until.ToUniversalTime() + ClockSkew
        && !(notBefore is { } from && now.UtcDateTime < from.ToUniversalTime() - ClockSkew);

    private static bool IsLoopbackHttp(string authority) =>
        Uri.TryCreate(authority, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback;
}
