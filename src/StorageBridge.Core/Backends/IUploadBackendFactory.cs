using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.Backends;

/// <summary>Creates the backend of a target from its named options; one factory per <c>Backend</c> value.</summary>
public interface IUploadBackendFactory
{
    /// <summary>The <c>Backend</c> value this factory answers to (e.g. "FileSystem", "S3").</summary>
    string Name { get; }

    /// <summary>
    /// Reads the target's options (binding and validating them; a bad value throws StorageBridgeConfigurationException
    /// naming the key) and builds its backend.
    /// </summary>
    UploadBackendDefinition Create(string targetName, IServiceProvider services);
}

/// <summary>A target's backend together with the options it was built from.</summary>
public sealed record UploadBackendDefinition(IUploadBackend Backend, StorageBridgeTargetOptions Options);

/// <summary>
/// A backend factory over the named options <typeparamref name="TOptions"/> (name = target name): configuration
/// binding, the application's <c>Add...Target(name, o =&gt; ...)</c> and validation all happen in the options pipeline.
/// </summary>
public abstract class UploadBackendFactory<TOptions> : IUploadBackendFactory
    where TOptions : StorageBridgeTargetOptions
{
    public abstract string Name { get; }

    public UploadBackendDefinition Create(string targetName, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<TOptions>>().Get(targetName);
        var source = services.GetService<StorageBridgeConfigurationSource>() ?? new StorageBridgeConfigurationSource(null);
        return new UploadBackendDefinition(CreateBackend(targetName, source.TargetPath(targetName), options, services), options);
    }

    /// <param name="targetName">The target.</param>
    /// <param name="path">Configuration path of the target (for error keys).</param>
    /// <param name="options">Bound and validated options.</param>
    /// <param name="services">The application's services (clients registered by the application, logging).</param>
    protected abstract IUploadBackend CreateBackend(string targetName, string path, TOptions options, IServiceProvider services);
}
