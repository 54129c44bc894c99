using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.AspNetCore.Security;

/// <summary>Binds <c>StorageBridge:Targets:{name}:Auth</c> onto the target's <see cref="TargetAuthOptions"/>.</summary>
internal sealed class TargetAuthSectionBinder(StorageBridgeConfigurationSource source) : IConfigureNamedOptions<TargetAuthOptions>
{
    public const string SectionName = "Auth";

    public void Configure(string? name, TargetAuthOptions options)
    {
        if (source.TargetSection(name ?? Options.DefaultName)?.GetSection(SectionName) is not { } auth || !auth.Exists())
        {
            return;
        }

        ConfigurationBinding.Bind(auth, options, nameof(TargetAuthOptions.Jwt), nameof(TargetAuthOptions.ApiKeys), nameof(TargetAuthOptions.RequiredClaims));
        // A Jwt section of blank values (a template that writes its optional parameters empty) is no Jwt section.
        if (auth.GetSection(nameof(TargetAuthOptions.Jwt)) is { } jwt && jwt.AsEnumerable().Any(e => !string.IsNullOrWhiteSpace(e.Value)))
        {
            options.Jwt ??= new TargetJwtOptions();
            ConfigurationBinding.Bind(jwt, options.Jwt);
        }

        foreach (var key in auth.GetSection(nameof(TargetAuthOptions.ApiKeys)).GetChildren())
        {
            var apiKey = new TargetApiKeyOptions { Sha256 = key[nameof(TargetApiKeyOptions.Sha256)] };
            foreach (var claim in key.GetSection(nameof(TargetApiKeyOptions.Claims)).GetChildren())
            {
                apiKey.Claims[claim.Key] = claim.Value ?? "";
            }

            options.ApiKeys[key.Key] = apiKey;
        }

        foreach (var claim in auth.GetSection(nameof(TargetAuthOptions.RequiredClaims)).GetChildren())
        {
            options.RequiredClaims[claim.Key] = claim.Value ?? "";
        }
    }

    public void Configure(TargetAuthOptions options) => Configure(Options.DefaultName, options);
}
