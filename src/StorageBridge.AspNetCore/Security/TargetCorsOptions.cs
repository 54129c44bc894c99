using StorageBridge.Configuration;

namespace StorageBridge.AspNetCore.Security;

/// <summary>
/// Section <c>StorageBridge:Targets:{name}:Cors</c>: which other origins' pages may use the target from a browser.
/// Bound as named options (the name is the target's), so code can add to it with
/// <c>services.Configure&lt;TargetCorsOptions&gt;("photos", o =&gt; o.AllowedOrigins.Add("https://app.example"))</c>.
/// Without allowed origins the target is same-origin only: a request whose <c>Origin</c> is another origin is
/// refused (403) before anything happens. See docs/browsers.md.
/// </summary>
public sealed class TargetCorsOptions
{
    /// <summary>
    /// <c>AllowedOrigins</c>: origins as browsers send them, <c>scheme://host[:port]</c> (http or https, no path, no
    /// trailing '/'), or the single entry <c>*</c> for any origin. A list, or one string with origins separated by
    /// commas (handy in environment variables).
    /// </summary>
    public IList<string> AllowedOrigins { get; } = new List<string>();

    /// <summary><c>MaxAge</c>: how long a browser may cache a preflight answer (Access-Control-Max-Age); unset: not sent.</summary>
    public Duration? MaxAge { get; set; }
}

/// <summary>
/// <c>StorageBridge:Targets:{name}:Downloads</c> (true or false, default true): whether <c>GET .../content</c> serves
/// completed objects. Bound as named options (the name is the target's).
/// </summary>
public sealed class TargetDownloadOptions
{
    /// <summary>False: the download route answers 404 with a problem body on this target.</summary>
    public bool Enabled { get; set; } = true;
}
