using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Per target: the CORS policy built from <see cref="TargetCorsOptions"/> (null: same-origin only) and whether
/// downloads are on (<see cref="TargetDownloadOptions"/>). Built once, when the endpoints are mapped, so bad values stop
/// start-up naming their key (every host, with or without <c>app.UseCors()</c>).
/// </summary>
internal sealed class TargetBrowserPolicies
{
    private readonly Dictionary<string, CorsPolicy> _cors = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _downloadsOff = new(StringComparer.OrdinalIgnoreCase);

    public TargetBrowserPolicies(
        UploadTargetRegistry targets,
        IOptionsMonitor<TargetCorsOptions> cors,
        IOptionsMonitor<TargetDownloadOptions> downloads,
        StorageBridgeConfigurationSource source)
    {
        foreach (var target in targets.All)
        {
            var key = ConfigurationBinding.Key(source.TargetPath(target.Name), "Cors");
            if (BuildPolicy(key, cors.Get(target.Name)) is { } policy)
            {
                _cors[target.Name] = policy;
            }

            if (!downloads.Get(target.Name).Enabled)
            {
                _downloadsOff.Add(target.Name);
            }
        }
    }

    /// <summary>The target's CORS policy; null when it allows no other origin.</summary>
    public CorsPolicy? CorsFor(string target) => _cors.GetValueOrDefault(target);

    public bool DownloadsEnabled(string target) => !_downloadsOff.Contains(target);

    private static CorsPolicy? BuildPolicy(string key, TargetCorsOptions options)
    {
        var origins = CorsOrigins.Parse(ConfigurationBinding.Key(key, "AllowedOrigins"), options.AllowedOrigins);
        if (origins.Count == 0)
        {
            return null;
        }

        var builder = new CorsPolicyBuilder();
        _ = origins is [CorsOrigins.Any] ? builder.AllowAnyOrigin() : builder.WithOrigins([.. origins]);
        builder.WithMethods([.. CorsHeaders.Methods])
            .WithHeaders([.. CorsHeaders.RequestHeaders])
            .WithExposedHeaders([.. CorsHeaders.ExposedHeaders]);
        if (options.MaxAge is { Value: { } maxAge })
        {
            builder.SetPreflightMaxAge(maxAge);
        }

        return builder.Build();
    }
}

/// <summary>Checks and normalizes configured origins to the form browsers send in <c>Origin</c>.</summary>
internal static class CorsOrigins
{
    public const string Any = "*";

    public static IReadOnlyList<string> Parse(string key, IEnumerable<string> configured)
    {
        var origins = new List<string>();
        foreach (var entry in configured.SelectMany(e => (e ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            var origin = Normalize(entry) ?? throw new StorageBridgeConfigurationException(key, Describe(entry));
            if (!origins.Contains(origin, StringComparer.Ordinal))
            {
                origins.Add(origin);
            }
        }

        if (origins.Count > 1 && origins.Contains(Any))
        {
            throw new StorageBridgeConfigurationException(key, "'*' allows every origin and must be the only entry.");
        }

        return origins;
    }

    /// <summary><c>scheme://host[:port]</c> in lower case without a default port, or null when it is not an origin.</summary>
    internal static string? Normalize(string entry)
    {
        if (entry == Any)
        {
            return Any;
        }

        var separator = entry.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0
            || entry.AsSpan(separator + 3).IndexOfAny("/?#@\\") >= 0
            || entry.Contains('*', StringComparison.Ordinal)
            || !Uri.TryCreate(entry, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https")
            || uri.Host.Length == 0)
        {
            return null;
        }

        var host = uri.HostNameType is UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        return uri.IsDefaultPort ? $"{uri.Scheme}://{host}" : $"{uri.Scheme}://{host}:{uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
    }

    private static string Describe(string entry) => entry switch
    {
        "null" => "'null' is the origin of sandboxed and file: documents, which anyone can create; it cannot be allowed.",
        _ when entry.Contains('*', StringComparison.Ordinal) => $"'{entry}': wildcards are not supported; list each origin, or use '*' alone for every origin.",
        _ when entry.EndsWith('/') => $"'{entry}' is not an origin: remove the trailing '/' (browsers send scheme://host[:port]).",
        _ => $"'{entry}' is not an origin: use scheme://host[:port] with http or https and no path (e.g. https://app.example.com).",
    };
}
