using System.Globalization;
using Microsoft.Extensions.Configuration;
using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;

namespace StorageBridge.Configuration;

/// <summary>
/// Reads <c>StorageBridge</c> configuration into engine options and targets. Every mistake fails start-up with the
/// offending key. The target "default" (files under ./data) always exists unless configured otherwise.
/// </summary>
public static class TargetConfiguration
{
    public const string SectionName = "StorageBridge";
    public const string DefaultTarget = "default";

    public static StorageBridgeEngineOptions ReadEngineOptions(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var defaults = new StorageBridgeEngineOptions();
        return defaults with
        {
            LeaseDuration = ConfigurationValues.GetDuration(section, "LeaseDuration", defaults.LeaseDuration) ?? defaults.LeaseDuration,
            TombstoneRetention = ConfigurationValues.GetDuration(section, "TombstoneRetention", defaults.TombstoneRetention) ?? defaults.TombstoneRetention,
            CleanupInterval = ConfigurationValues.GetDuration(section, "CleanupInterval", defaults.CleanupInterval) ?? defaults.CleanupInterval,
            TakeoverWait = ConfigurationValues.GetDuration(section, "TakeoverWait", defaults.TakeoverWait) ?? defaults.TakeoverWait,
            TailCacheSize = ConfigurationValues.GetSize(section, "TailCacheSize") ?? defaults.TailCacheSize,
            InstanceId = section["InstanceId"] is { Length: > 0 } id ? id : defaults.InstanceId,
        };
    }

    public static UploadTargetRegistry ReadTargets(IConfigurationSection section, IEnumerable<IUploadBackendFactory> factories)
    {
        ArgumentNullException.ThrowIfNull(section);
        var byName = factories.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);
        var targetsSection = section.GetSection("Targets");
        var targets = new List<UploadTarget>();
        var names = targetsSection.GetChildren().Select(c => c.Key).ToList();
        if (!names.Contains(DefaultTarget, StringComparer.OrdinalIgnoreCase))
        {
            names.Insert(0, DefaultTarget);
        }

        foreach (var name in names)
        {
            var targetSection = targetsSection.GetSection(name);
            if (!IsValidTargetName(name))
            {
                throw new StorageBridgeConfigurationException(targetSection.Path, "target names may use letters, digits, '-' and '_' only.");
            }

            var backendName = targetSection["Backend"] is { Length: > 0 } b ? b : "FileSystem";
            if (!byName.TryGetValue(backendName, out var factory))
            {
                throw new StorageBridgeConfigurationException(
                    ConfigurationValues.Key(targetSection, "Backend"),
                    $"unknown backend '{backendName}'; available: {string.Join(", ", byName.Keys)}.");
            }

            var backend = factory.Create(name, targetSection);
            targets.Add(new UploadTarget(name, backend, ReadTargetOptions(targetSection, factory.Name, backend.Capabilities), ReadTailStore(targetSection)));
        }

        return new UploadTargetRegistry(targets);
    }

    /// <summary><c>StagingDirectory</c>: tails on this machine's disk instead of the backend (single instance only).</summary>
    private static LocalTailStore? ReadTailStore(IConfigurationSection section)
    {
        if (section["StagingDirectory"] is not { Length: > 0 } directory)
        {
            return null;
        }

        try
        {
            return new LocalTailStore(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "StagingDirectory"), $"cannot use '{directory}': {ex.Message}");
        }
    }

    private static UploadTargetOptions ReadTargetOptions(IConfigurationSection section, string backendName, BackendCapabilities capabilities)
    {
        var defaults = new UploadTargetOptions { Backend = backendName };
        var partSize = ConfigurationValues.GetSize(section, "PartSize");
        if (partSize is long part && (part < Math.Max(1, capabilities.MinPartSize) || part > PartPlanner.MaxBufferSize || part % capabilities.PartAlignment != 0))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, "PartSize"),
                $"must be between {capabilities.MinPartSize} and {PartPlanner.MaxBufferSize} bytes and a multiple of {capabilities.PartAlignment}.");
        }

        int? concurrentParts = null;
        if (section["MaxConcurrentParts"] is { Length: > 0 } concurrentText)
        {
            var limit = capabilities.TracksParts ? UploadTarget.MaxConcurrentPartsLimit : 1;
            if (!int.TryParse(concurrentText, NumberStyles.None, CultureInfo.InvariantCulture, out var concurrent)
                || concurrent > limit)
            {
                throw new StorageBridgeConfigurationException(
                    ConfigurationValues.Key(section, "MaxConcurrentParts"),
                    capabilities.TracksParts
                        ? $"'{concurrentText}' is not a number between 0 and {limit}."
                        : $"'{concurrentText}': this backend writes parts in place, in order, so only 0 or 1 is possible.");
            }

            concurrentParts = concurrent;
        }

        var minAppend = ConfigurationValues.GetSize(section, "MinAppendSize");
        var maxAppend = ConfigurationValues.GetSize(section, "MaxAppendSize");
        if (maxAppend is 0)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MaxAppendSize"), "must be greater than 0.");
        }

        if (minAppend is long min && maxAppend is long max && min > max)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MinAppendSize"), $"{min} is larger than MaxAppendSize {max}.");
        }

        var keyTemplate = section["KeyTemplate"] is { Length: > 0 } template ? template : defaults.KeyTemplate;
        if (!keyTemplate.Contains("{id}", StringComparison.Ordinal))
        {
            // Without the id two uploads could land on the same key and replace each other.
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "KeyTemplate"), "must contain {id}.");
        }

        return defaults with
        {
            MaxUploadSize = ConfigurationValues.GetSize(section, "MaxUploadSize"),
            MinAppendSize = minAppend,
            MaxAppendSize = maxAppend,
            PartSize = (int?)partSize,
            MaxConcurrentParts = concurrentParts,
            Expiration = ConfigurationValues.GetDuration(section, "Expiration", defaults.Expiration),
            InterimResponses = ConfigurationValues.GetBool(section, "InterimResponses", defaults.InterimResponses),
            KeyTemplate = keyTemplate,
            Prefix = section["Prefix"] ?? "",
        };
    }

    private static bool IsValidTargetName(string name) =>
        name.Length is > 0 and <= 64 && name.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") < 0;
}
