using System.Net;

namespace StorageBridge.Host;

/// <summary>
/// Whether the Host is reachable beyond this machine (<c>StorageBridge:Exposed</c>): it listens on a non-loopback
/// address through <c>urls</c> / <c>ASPNETCORE_URLS</c>, <c>HTTP_PORTS</c> / <c>HTTPS_PORTS</c> (all interfaces by
/// definition) or a Kestrel endpoint (<c>Kestrel:Endpoints:{name}:Url</c>). The embedded default, 127.0.0.1:8080, is not.
/// </summary>
public static class HostExposure
{
    public const string Key = "StorageBridge:Exposed";

    public static bool ListensBeyondLoopback(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        foreach (var ports in new[] { "http_ports", "https_ports", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS" })
        {
            if (!string.IsNullOrWhiteSpace(configuration[ports]))
            {
                return true;
            }
        }

        var urls = new[] { configuration["urls"], configuration["ASPNETCORE_URLS"] }
            .Where(u => !string.IsNullOrWhiteSpace(u))
            .SelectMany(u => u!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
        return urls.Any(url => !IsLoopback(url));
    }

    /// <summary>
    /// Kestrel binds "localhost" to the loopback interfaces and an IP address to itself; "*", "+", "0.0.0.0", "[::]"
    /// and any other host name bind every interface.
    /// </summary>
    public static bool IsLoopback(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var rest = url.Contains("://", StringComparison.Ordinal) ? url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..] : url;
        string host;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            host = close > 0 ? rest[1..close] : rest;
        }
        else
        {
            var end = rest.IndexOfAny([':', '/']);
            host = end >= 0 ? rest[..end] : rest;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address);
    }
}
