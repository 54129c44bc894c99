using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using StorageBridge.Configuration;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// The authentication settings of every target: validated once when the endpoints are mapped (bad settings fail
/// start-up naming the key), one JWT bearer scheme per target with <c>Jwt</c> and one API key scheme per target added
/// to the application's schemes, and the current settings per target (re-read after a configuration reload).
/// </summary>
internal sealed class TargetAuthentication : IDisposable
{
    private const string SchemePrefix = "StorageBridge.";

    private readonly IOptionsFactory<TargetAuthOptions> _factory;
    private readonly StorageBridgeConfigurationSource _source;
    private readonly ConcurrentDictionary<string, TargetAuthOptions> _current = new(StringComparer.OrdinalIgnoreCase);
    private readonly IDisposable? _reload;

    public TargetAuthentication(
        UploadTargetRegistry targets,
        IOptionsFactory<TargetAuthOptions> factory,
        IAuthenticationSchemeProvider schemes,
        StorageBridgeConfigurationSource source,
        IOptions<StorageBridgeOptions> bridge)
    {
        _factory = factory;
        _source = source;
        // Configuration (the Host sets it from where it listens) or code (the Functions host always sets it).
        Exposed = ReadExposed(source) || bridge.Value.Exposed == true;
        foreach (var target in targets.All)
        {
            var options = factory.Create(target.Name);
            Validate(source.TargetPath(target.Name), options, Exposed);
            if (options.Jwt is not null)
            {
                schemes.TryAddScheme(new AuthenticationScheme(JwtScheme(target.Name), null, typeof(JwtBearerHandler)));
            }

            // Always there: keys may be added by a configuration reload.
            schemes.TryAddScheme(new AuthenticationScheme(ApiKeyScheme(target.Name), null, typeof(ApiKeyAuthenticationHandler)));
        }

        if (source.Section is { } section)
        {
            _reload = ChangeToken.OnChange(section.GetReloadToken, _current.Clear);
        }
    }

    /// <summary><c>StorageBridge:Exposed</c>: the service is reachable beyond loopback.</summary>
    public bool Exposed { get; }

    public static string JwtScheme(string target) => SchemePrefix + "Jwt." + target;

    public static string ApiKeyScheme(string target) => SchemePrefix + "ApiKey." + target;

    /// <summary>The target name of one of our schemes, or null.</summary>
    public static string? TargetOfScheme(string scheme, string kind) =>
        scheme.StartsWith(SchemePrefix + kind + ".", StringComparison.Ordinal) ? scheme[(SchemePrefix.Length + kind.Length + 1)..] : null;

    /// <summary>The target's settings as they are now (after the last configuration reload).</summary>
    public TargetAuthOptions For(string target) => _current.GetOrAdd(target, _factory.Create);

    /// <summary>Whether a request without credentials may use the target.</summary>
    public bool AllowsAnonymous(TargetAuthOptions options) =>
        options.Anonymous ?? (!Exposed && options.Jwt is null && options.ApiKeys.Count == 0 && options.RequiredClaims.Count == 0);

    public void Dispose() => _reload?.Dispose();

    private static bool ReadExposed(StorageBridgeConfigurationSource source)
    {
        var raw = source.Section?["Exposed"];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return false;
        }

        return bool.TryParse(raw, out var exposed)
            ? exposed
            : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(source.Path, "Exposed"), $"'{raw}' is not true or false.");
    }

    private static void Validate(string targetPath, TargetAuthOptions options, bool exposed)
    {
        var path = ConfigurationBinding.Key(targetPath, TargetAuthSectionBinder.SectionName);
        if (exposed && options.Jwt is null && options.ApiKeys.Count == 0 && options.RequiredClaims.Count == 0 && options.Anonymous != true)
        {
            throw new StorageBridgeConfigurationException(
                path, "the service is exposed (StorageBridge:Exposed) and this target has no Jwt and no ApiKeys: configure one, or set Anonymous: true to serve it without credentials.");
        }

        if (options.Anonymous == true && options.RequiredClaims.Count > 0)
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "RequiredClaims"), "an anonymous target cannot require claims: remove Anonymous or RequiredClaims.");
        }

        if (options.Jwt is { } jwt)
        {
            ValidateJwt(ConfigurationBinding.Key(path, "Jwt"), jwt);
        }

        foreach (var (name, key) in options.ApiKeys)
        {
            var keyPath = ConfigurationBinding.Key(ConfigurationBinding.Key(ConfigurationBinding.Key(path, "ApiKeys"), name), "Sha256");
            if (ApiKeys.ParseHash(key.Sha256) is null)
            {
                throw new StorageBridgeConfigurationException(keyPath, "must be the hex SHA-256 of the key (64 hex digits), e.g. from: printf %s \"$KEY\" | sha256sum");
            }
        }
    }

    private static void ValidateJwt(string path, TargetJwtOptions jwt)
    {
        if (string.IsNullOrWhiteSpace(jwt.Authority) && string.IsNullOrWhiteSpace(jwt.SigningKey))
        {
            throw new StorageBridgeConfigurationException(path, "set Authority (an OpenID Connect issuer) or Issuer + Audience + SigningKey (a local issuer).");
        }

        if (string.IsNullOrWhiteSpace(jwt.Audience))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "Audience"), "is required: tokens are only accepted for this audience.");
        }

        if (string.IsNullOrWhiteSpace(jwt.OwnerClaim))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "OwnerClaim"), "must name a claim (default sub).");
        }

        if (!string.IsNullOrWhiteSpace(jwt.SigningKey))
        {
            if (string.IsNullOrWhiteSpace(jwt.Issuer) && string.IsNullOrWhiteSpace(jwt.Authority))
            {
                throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "Issuer"), "is required with SigningKey: tokens are only accepted from this issuer.");
            }

            if (JwtSchemeOptions.DecodeKey(jwt.SigningKey) is not { Length: >= 32 })
            {
                throw new StorageBridgeConfigurationException(
                    ConfigurationBinding.Key(path, "SigningKey"), "must be base64 of at least 32 random bytes (HMAC-SHA256), e.g. from: openssl rand -base64 32");
            }
        }

        if (!string.IsNullOrWhiteSpace(jwt.Authority) && !Uri.TryCreate(jwt.Authority, UriKind.Absolute, out _))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "Authority"), string.Create(CultureInfo.InvariantCulture, $"'{jwt.Authority}' is not an absolute URL."));
        }
    }
}
