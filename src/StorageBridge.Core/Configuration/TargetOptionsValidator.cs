using Microsoft.Extensions.Options;
using StorageBridge.Targets;

namespace StorageBridge.Configuration;

/// <summary>
/// Validates a target's options when they are first read (at start-up: <c>ValidateOnStart</c> and the target registry).
/// A failure throws <see cref="StorageBridgeConfigurationException"/> instead of returning a result, so start-up
/// stops with the exact key (<c>StorageBridge:Targets:small:MaxAppendSize</c>) in <see cref="StorageBridgeConfigurationException.Key"/>.
/// Checks that depend on the backend's capabilities (PartSize range, MaxConcurrentParts of in-place backends) run
/// when the target is built.
/// </summary>
public class TargetOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : StorageBridgeTargetOptions
{
    public TargetOptionsValidator(StorageBridgeConfigurationSource source)
    {
        Source = source;
    }

    protected StorageBridgeConfigurationSource Source { get; }

    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = Source.TargetPath(name ?? Options.DefaultName);
        ValidateCommon(path, options);
        ValidateBackend(path, options);
        return ValidateOptionsResult.Success;
    }

    /// <summary>Backend-specific checks; throw with <see cref="Fail"/>.</summary>
    protected virtual void ValidateBackend(string path, TOptions options)
    {
    }

    protected static void Fail(string path, string name, string message) =>
        throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, name), message);

    private static void ValidateCommon(string path, StorageBridgeTargetOptions options)
    {
        if (options.MaxConcurrentParts is < 0 or > UploadTarget.MaxConcurrentPartsLimit)
        {
            Fail(path, "MaxConcurrentParts", $"'{options.MaxConcurrentParts}' is not a number between 0 and {UploadTarget.MaxConcurrentPartsLimit}.");
        }

        if (!Enum.IsDefined(options.OnCancelCompleted))
        {
            Fail(path, "OnCancelCompleted", $"'{options.OnCancelCompleted}' is not KeepObject or DeleteObject.");
        }

        if (options.MaxAppendSize is { Bytes: 0 })
        {
            Fail(path, "MaxAppendSize", "must be greater than 0.");
        }

        if (options.MinAppendSize is { } min && options.MaxAppendSize is { } max && min > max)
        {
            Fail(path, "MinAppendSize", $"{min} is larger than MaxAppendSize {max}.");
        }

        if (!string.IsNullOrEmpty(options.KeyTemplate) && !options.KeyTemplate.Contains("{id}", StringComparison.Ordinal))
        {
            // Without the id two uploads could land on the same key and replace each other.
            Fail(path, "KeyTemplate", "must contain {id}.");
        }
    }
}

/// <summary>Binds <c>{section}:Targets:{name}</c> onto a target's named options, before the application's code configuration.</summary>
internal sealed class TargetSectionBinder<TOptions> : IConfigureNamedOptions<TOptions>
    where TOptions : StorageBridgeTargetOptions
{
    private readonly StorageBridgeConfigurationSource _source;

    public TargetSectionBinder(StorageBridgeConfigurationSource source)
    {
        _source = source;
    }

    public void Configure(string? name, TOptions options)
    {
        if (_source.TargetSection(name ?? Options.DefaultName) is { } section)
        {
            ConfigurationBinding.Bind(section, options);
        }
    }

    public void Configure(TOptions options) => Configure(Options.DefaultName, options);
}
