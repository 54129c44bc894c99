using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// The API key scheme of one target (<see cref="TargetAuthentication.ApiKeyScheme"/>): no key presented is no result
/// (another scheme, or anonymous, may apply); a key that matches none of the target's keys fails. The principal is
/// <c>key:{keyName}</c> with the key's configured claims. Keys are read from the target's current settings, so a key
/// removed by a configuration reload stops working at the next request.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TargetAuthentication targets)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string AuthenticationType = "StorageBridge.ApiKey";

    /// <summary>Claim naming the key a principal authenticated with.</summary>
    public const string KeyNameClaim = "storagebridge:api_key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (TargetAuthentication.TargetOfScheme(Scheme.Name, "ApiKey") is not { } target || ApiKeys.Presented(Request) is not { } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var settings = targets.For(target);
        if (settings.ApiKeys.Count == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (ApiKeys.Match(settings, presented) is not { } key)
        {
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid for this target."));
        }

        var owner = UploadPrincipals.ApiKeyOwner(key.Key);
        var identity = new ClaimsIdentity(AuthenticationType, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(UploadPrincipals.OwnerClaim, owner));
        identity.AddClaim(new Claim(ClaimTypes.Name, owner));
        identity.AddClaim(new Claim(KeyNameClaim, key.Key));
        foreach (var (type, value) in key.Value.Claims)
        {
            identity.AddClaim(new Claim(type, value));
        }

        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
    }
}
