using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using StorageBridge.Configuration;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// <c>Provider: Cosmos</c> with <c>Endpoint</c>, <c>Key</c>, <c>Database</c> (default storagebridge), <c>Container</c>
/// (default uploads), <c>ConnectionMode</c> (Gateway | Direct, default Direct), <c>CreateIfMissing</c> (default true) and
/// <c>AcceptAnyServerCertificate</c> (emulators only, default false) and <c>TtlGrace</c> (default 1h; 0 or none: no grace).
/// </summary>
/// <param name="loggerFactory">From DI when registered with AddStorageBridgeCosmos; the store logs retries through it.</param>
public sealed class CosmosMetadataStoreFactory(ILoggerFactory? loggerFactory = null) : IUploadMetadataStoreFactory
{
    public string Name => "Cosmos";

    public IUploadMetadataStore Create(IConfigurationSection section) =>
        new CosmosUploadMetadataStore(ReadOptions(section), TimeProvider.System, loggerFactory?.CreateLogger<CosmosUploadMetadataStore>());

    public static CosmosMetadataOptions ReadOptions(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);

        var endpointText = Required(section, "Endpoint");
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
            || (endpoint.Scheme != Uri.UriSchemeHttps && endpoint.Scheme != Uri.UriSchemeHttp))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, "Endpoint"), $"'{endpointText}' is not an http(s) URL.");
        }

        var modeText = section["ConnectionMode"]?.Trim();
        var mode = ConnectionMode.Direct;
        if (!string.IsNullOrEmpty(modeText)
            && !(Enum.TryParse(modeText, ignoreCase: true, out mode) && Enum.IsDefined(mode) && !char.IsDigit(modeText[0])))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, "ConnectionMode"), $"'{modeText}' is not Gateway or Direct.");
        }

        return new CosmosMetadataOptions
        {
            Endpoint = endpoint,
            Key = Required(section, "Key"),
            Database = CosmosName(section, "Database", CosmosMetadataOptions.DefaultDatabase),
            Container = CosmosName(section, "Container", CosmosMetadataOptions.DefaultContainer),
            ConnectionMode = mode,
            CreateIfMissing = ConfigurationValues.GetBool(section, "CreateIfMissing", defaultValue: true),
            AcceptAnyServerCertificate = ConfigurationValues.GetBool(section, "AcceptAnyServerCertificate", defaultValue: false),
            TtlGrace = ConfigurationValues.GetDuration(section, "TtlGrace", CosmosMetadataOptions.DefaultTtlGrace) ?? TimeSpan.Zero,
        };
    }

    private static string Required(IConfigurationSection section, string name) =>
        section[name] is { } value && !string.IsNullOrWhiteSpace(value)
            ? value.Trim()
            : throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, name), "a value is required for Provider Cosmos.");

    // Cosmos ids may not contain / \ ? # and must not end with a space.
    private static string CosmosName(IConfigurationSection section, string name, string defaultValue)
    {
        var value = section[name];
        if (string.IsNullOrWhiteSpace(value))
        {
            return defaultValue;
        }

        return value.IndexOfAny(['/', '\\', '?', '#']) < 0 && value.Length <= 255 && value == value.Trim()
            ? value
            : throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, name), $"'{value}' is not a valid Cosmos DB name (no / \\ ? #, no surrounding spaces, at most 255 characters).");
    }
}
