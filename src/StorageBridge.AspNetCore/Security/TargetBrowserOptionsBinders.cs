using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.AspNetCore.Security;

/// <summary>Binds <c>Targets:{name}:Cors</c> onto <see cref="TargetCorsOptions"/>; a bad value or an unknown key names its key.</summary>
internal sealed class TargetCorsSectionBinder(StorageBridgeConfigurationSource source) : IConfigureNamedOptions<TargetCorsOptions>
{
    private static readonly string[] Keys = [nameof(TargetCorsOptions.AllowedOrigins), nameof(TargetCorsOptions.MaxAge)];

    public void Configure(string? name, TargetCorsOptions options)
    {
        if (source.TargetSection(name ?? Options.DefaultName)?.GetSection("Cors") is not { } section || !section.Exists())
        {
            return;
        }

        foreach (var child in section.GetChildren())
        {
            if (!Keys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                // A misspelt key would otherwise leave the target same-origin only without a word.
                throw new StorageBridgeConfigurationException(child.Path, $"unknown key; Cors has {string.Join(" and ", Keys)}.");
            }
        }

        var origins = section.GetSection(nameof(TargetCorsOptions.AllowedOrigins));
        if (origins.Value is { } single)
        {
            options.AllowedOrigins.Add(single);
        }

        foreach (var origin in origins.GetChildren())
        {
            options.AllowedOrigins.Add(origin.Value ?? "");
        }

        if (section[nameof(TargetCorsOptions.MaxAge)] is { } maxAge && !string.IsNullOrWhiteSpace(maxAge))
        {
            options.MaxAge = Duration.TryParse(maxAge, out var parsed)
                ? parsed
                : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, nameof(TargetCorsOptions.MaxAge)), $"'{maxAge}' is not a duration; {Duration.Hint}");
        }
    }

    public void Configure(TargetCorsOptions options) => Configure(Options.DefaultName, options);
}

/// <summary>Binds <c>Targets:{name}:Downloads</c> (true or false) onto <see cref="TargetDownloadOptions"/>.</summary>
internal sealed class TargetDownloadSectionBinder(StorageBridgeConfigurationSource source) : IConfigureNamedOptions<TargetDownloadOptions>
{
    public void Configure(string? name, TargetDownloadOptions options)
    {
        if (source.TargetSection(name ?? Options.DefaultName) is not { } section || section["Downloads"] is not { } value || string.IsNullOrWhiteSpace(value))
        {
            return;
        }

        options.Enabled = bool.TryParse(value.Trim(), out var enabled)
            ? enabled
            : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "Downloads"), $"'{value}' is not true or false.");
    }

    public void Configure(TargetDownloadOptions options) => Configure(Options.DefaultName, options);
}
