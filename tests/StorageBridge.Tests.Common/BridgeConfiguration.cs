using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;
using StorageBridge.Coordination;
using StorageBridge.Targets;

namespace StorageBridge.Tests;

/// <summary>
/// Reads bridge configuration the way the application does (AddStorageBridgeTargets + the backends' registrations,
/// named options bound and validated), without a web host: configuration tests call these.
/// </summary>
public static class BridgeConfiguration
{
    public static IConfigurationSection Section(IEnumerable<KeyValuePair<string, string?>> values, string path = TargetConfiguration.SectionName) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(path);

    /// <summary>The services of <paramref name="section"/> with the backends <paramref name="register"/> adds.</summary>
    public static ServiceProvider Services(IConfigurationSection section, Action<IServiceCollection>? register = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridgeTargets(section);
        register?.Invoke(services);
        return services.BuildServiceProvider();
    }

    /// <summary>The target registry (every target built; a bad value throws StorageBridgeConfigurationException).</summary>
    public static UploadTargetRegistry ReadTargets(IConfigurationSection section, Action<IServiceCollection>? register = null)
    {
        // Backends live as long as the registry the test holds; the provider only builds them.
        var provider = Services(section, register);
        return provider.GetRequiredService<UploadTargetRegistry>();
    }

    /// <summary>Engine options bound from the section (a bad value throws StorageBridgeConfigurationException).</summary>
    public static StorageBridgeEngineOptions ReadEngineOptions(IConfigurationSection section)
    {
        using var provider = Services(section);
        return provider.GetRequiredService<StorageBridgeEngineOptions>();
    }

    /// <summary>One target's named options of type <typeparamref name="TOptions"/>, bound and validated.</summary>
    public static TOptions ReadTargetOptions<TOptions>(IConfigurationSection section, string target, Action<IServiceCollection> register)
        where TOptions : StorageBridgeTargetOptions
    {
        using var provider = Services(section, register);
        return provider.GetRequiredService<IOptionsMonitor<TOptions>>().Get(target);
    }

    /// <summary>Unnamed options (a metadata store's), bound and validated.</summary>
    public static TOptions ReadOptions<TOptions>(IConfigurationSection section, Action<IServiceCollection> register)
        where TOptions : class
    {
        using var provider = Services(section, register);
        return provider.GetRequiredService<IOptions<TOptions>>().Value;
    }
}
