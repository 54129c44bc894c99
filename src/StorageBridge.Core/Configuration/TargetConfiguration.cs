using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Backends;
using StorageBridge.Coordination;
using StorageBridge.FileSystem;
using StorageBridge.Targets;

namespace StorageBridge.Configuration;

/// <summary>A target the application declared: in code (<c>Add...Target</c>) or in configuration (<c>Targets:{name}:Backend</c>).</summary>
internal sealed record StorageBridgeTargetDeclaration(string Name, string Backend);

/// <summary>
/// Builds the target registry from the declared targets and their named options. Every mistake fails start-up with
/// the offending key. With configuration and no target declared at all, the target "default" (files under
/// ./data/objects) exists.
/// </summary>
public static class TargetConfiguration
{
    public const string SectionName = "StorageBridge";
    public const string DefaultTarget = "default";

    internal static UploadTargetRegistry CreateRegistry(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var source = services.GetService<StorageBridgeConfigurationSource>() ?? new StorageBridgeConfigurationSource(null);
        var factories = services.GetServices<IUploadBackendFactory>()
            .GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Last(), StringComparer.OrdinalIgnoreCase);

        // A later declaration of the same name replaces an earlier one (code after configuration wins).
        var declarations = new Dictionary<string, StorageBridgeTargetDeclaration>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();
        foreach (var declaration in services.GetServices<StorageBridgeTargetDeclaration>())
        {
            if (!declarations.ContainsKey(declaration.Name))
            {
                order.Add(declaration.Name);
            }

            declarations[declaration.Name] = declaration;
        }

        // The embedded default: an app configured from configuration that declares no target at all gets one file
        // target; as soon as any target is declared, only the declared ones exist (no file target by accident).
        if (order.Count == 0 && source.Section is not null)
        {
            declarations[DefaultTarget] = new StorageBridgeTargetDeclaration(DefaultTarget, "FileSystem");
            order.Add(DefaultTarget);
        }

        var exposed = services.GetService<Microsoft.Extensions.Options.IOptions<StorageBridgeOptions>>()?.Value.Exposed == true;
        var targets = new List<UploadTarget>();
        foreach (var name in order)
        {
            var declaration = declarations[name];
            var path = source.TargetPath(declaration.Name);
            if (!IsValidTargetName(declaration.Name))
            {
                throw new StorageBridgeConfigurationException(path, "target names may use letters, digits, '-' and '_' only.");
            }

            if (!factories.TryGetValue(declaration.Backend, out var factory))
            {
                throw new StorageBridgeConfigurationException(
                    ConfigurationBinding.Key(path, "Backend"),
                    $"unknown backend '{declaration.Backend}'; available: {string.Join(", ", factories.Keys)}.");
            }

            var (backend, options) = factory.Create(declaration.Name, services);
            var targetOptions = CheckAgainstBackend(path, options, factory.Name, UploadShape.Of(backend));
            if (exposed && targetOptions.MaxUploadSize is null)
            {
                targetOptions = targetOptions with { MaxUploadSize = StorageBridgeOptions.ExposedMaxUploadSize.Bytes, MaxUploadSizeDefaulted = true };
            }

            targets.Add(new UploadTarget(declaration.Name, backend, targetOptions, CreateTailStore(path, options)));
        }

        return new UploadTargetRegistry(targets);
    }

    /// <summary>Target names may use letters, digits, '-' and '_' (at most 64).</summary>
    internal static bool IsValidTargetName(string name) =>
        name.Length is > 0 and <= 64 && name.AsSpan().IndexOfAnyExcept("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") < 0;

    /// <summary><c>StagingDirectory</c>: tails on this machine's disk instead of the backend (single instance only).</summary>
    private static LocalTailStore? CreateTailStore(string path, StorageBridgeTargetOptions options)
    {
        if (options.StagingDirectory is not { Length: > 0 } directory)
        {
            return null;
        }

        try
        {
            return new LocalTailStore(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "StagingDirectory"), $"cannot use '{directory}': {ex.Message}");
        }
    }

    private static UploadTargetOptions CheckAgainstBackend(string path, StorageBridgeTargetOptions options, string backendName, UploadShape shape)
    {
        (options.Limits ?? new TargetLimitOptions()).Validate(path);
        var capabilities = shape.Capabilities;
        if (options.PartSize is { Bytes: var part } && (part < Math.Max(1, capabilities.MinPartSize) || part > PartPlanner.MaxBufferSize || part % capabilities.PartAlignment != 0))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(path, "PartSize"),
                $"must be between {capabilities.MinPartSize} and {PartPlanner.MaxBufferSize} bytes and a multiple of {capabilities.PartAlignment}.");
        }

        if (options.MaxConcurrentParts is int concurrent && concurrent > shape.MaxConcurrentPartsLimit)
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationBinding.Key(path, "MaxConcurrentParts"),
                $"'{options.MaxConcurrentParts}': this backend writes parts in place, in order, so only 0 or 1 is possible.");
        }

        return options.ToUploadTargetOptions(backendName);
    }
}
