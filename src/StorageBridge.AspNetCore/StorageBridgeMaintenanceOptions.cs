using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.AspNetCore;

/// <summary>
/// Section <c>StorageBridge:Maintenance</c>: expiry for hosts where no timer runs between requests (AWS Lambda, where an
/// EventBridge schedule calls <c>MapStorageBridgeMaintenance</c>'s endpoint instead).
/// </summary>
public sealed record StorageBridgeMaintenanceOptions
{
    /// <summary>Shortest <see cref="Secret"/> accepted: 32 characters (e.g. 24 random bytes in base64).</summary>
    public const int MinSecretLength = 32;

    /// <summary>
    /// <c>Secret</c>: the value callers of the maintenance endpoint send in <c>X-StorageBridge-Maintenance-Secret</c>;
    /// without one the endpoint is not mapped (start-up fails naming this key).
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>
    /// <c>ExpiryTimer</c>: run the hosted expiry sweep every <c>CleanupInterval</c> (default true). Off on hosts that
    /// are frozen between requests and sweep through the maintenance endpoint instead.
    /// </summary>
    public bool ExpiryTimer { get; set; } = true;
}

/// <summary>Binds <c>{section}:Maintenance</c> onto <see cref="StorageBridgeMaintenanceOptions"/>; bad values name their key.</summary>
internal sealed class MaintenanceSectionBinder(StorageBridgeConfigurationSource source) : IConfigureOptions<StorageBridgeMaintenanceOptions>
{
    public void Configure(StorageBridgeMaintenanceOptions options)
    {
        if (source.Section?.GetSection("Maintenance") is { } section && section.Exists())
        {
            ConfigurationBinding.Bind(section, options);
        }
    }
}
