using Microsoft.Extensions.Configuration;

namespace StorageBridge.Configuration;

/// <summary>
/// The configuration section the bridge binds (<c>StorageBridge</c> unless told otherwise), or none when the
/// application configures it in code only. Error messages name keys under <see cref="Path"/> either way.
/// </summary>
public sealed class StorageBridgeConfigurationSource
{
    public StorageBridgeConfigurationSource(IConfigurationSection? section)
    {
        Section = section;
    }

    public IConfigurationSection? Section { get; }

    /// <summary>Key path of the section (<c>StorageBridge</c> for code-only configuration).</summary>
    public string Path => Section?.Path ?? TargetConfiguration.SectionName;

    /// <summary><c>{Path}:Targets:{name}</c>.</summary>
    public string TargetPath(string targetName) => $"{Path}:Targets:{targetName}";

    /// <summary><c>{Path}:Metadata</c>.</summary>
    public string MetadataPath => $"{Path}:Metadata";

    /// <summary>The target's section when configuration has one, else null.</summary>
    public IConfigurationSection? TargetSection(string targetName) =>
        Section?.GetSection("Targets").GetSection(targetName) is { } s && s.Exists() ? s : null;

    /// <summary>The metadata section when configuration has one, else null.</summary>
    public IConfigurationSection? MetadataSection =>
        Section?.GetSection("Metadata") is { } s && s.Exists() ? s : null;
}
