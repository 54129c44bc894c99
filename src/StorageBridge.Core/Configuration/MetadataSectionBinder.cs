using Microsoft.Extensions.Options;

namespace StorageBridge.Configuration;

/// <summary>Binds <c>{section}:Metadata</c> onto a metadata store's options, before the application's code configuration.</summary>
public sealed class MetadataSectionBinder<TOptions> : IConfigureOptions<TOptions>
    where TOptions : class
{
    private readonly StorageBridgeConfigurationSource _source;

    public MetadataSectionBinder(StorageBridgeConfigurationSource source)
    {
        _source = source;
    }

    public void Configure(TOptions options)
    {
        if (_source.MetadataSection is { } section)
        {
            ConfigurationBinding.Bind(section, options);
        }
    }
}
