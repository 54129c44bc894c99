using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// <c>Provider: Cosmos</c> with <c>Endpoint</c>, <c>Key</c> (empty: Entra ID through DefaultAzureCredential), <c>Database</c> (default storagebridge), <c>Container</c>
/// (default uploads), <c>ConnectionMode</c> (Gateway | Direct, default Direct), <c>CreateIfMissing</c> (default true) and
/// <c>AcceptAnyServerCertificate</c> (emulators only, default false) and <c>TtlGrace</c> (default 1h; 0 or none: no grace).
/// </summary>
internal sealed class CosmosMetadataStoreFactory : IUploadMetadataStoreFactory
{
    public const string ProviderName = "Cosmos";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CosmosMetadataOptions>>().Value;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<CosmosUploadMetadataStore>();
        return (options.Client ?? options.ClientFactory?.Invoke(services)) is { } client
            ? new CosmosUploadMetadataStore(client, options, time, logger)
            : new CosmosUploadMetadataStore(options, time, logger);
    }
}

/// <summary>Binds <c>StorageBridge:Metadata</c> onto <see cref="CosmosMetadataOptions"/>; bad values name their key.</summary>
internal sealed class CosmosMetadataSectionBinder(StorageBridgeConfigurationSource source) : IConfigureOptions<CosmosMetadataOptions>
{
    public void Configure(CosmosMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (source.MetadataSection is not { } section)
        {
            return;
        }

        // A number would bind to an enum value silently; only the names are meant.
        if (section["ConnectionMode"]?.Trim() is { Length: > 0 } mode && char.IsDigit(mode[0]))
        {
            throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "ConnectionMode"), $"'{mode}' is not Gateway or Direct.");
        }

        // TtlGrace takes durations (2d, none) like every other duration key; the binder's TimeSpan would not.
        ConfigurationBinding.Bind(section, options, "TtlGrace");
        if (section["TtlGrace"] is { } ttl && !string.IsNullOrWhiteSpace(ttl))
        {
            options.TtlGrace = Duration.TryParse(ttl, out var grace)
                ? grace.Value ?? TimeSpan.Zero
                : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "TtlGrace"), $"'{ttl}' is not a duration; {Duration.Hint}");
        }
    }
}

/// <summary>Checks the Cosmos store's options at start-up; failures name the key.</summary>
internal sealed class CosmosMetadataOptionsValidator(StorageBridgeConfigurationSource source) : IValidateOptions<CosmosMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, CosmosMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = source.MetadataPath;
        CheckName(path, "Database", options.Database);
        CheckName(path, "Container", options.Container);
        if (options.Client is not null || options.ClientFactory is not null)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.Endpoint is null)
        {
            Fail(path, "Endpoint", "a value is required for Provider Cosmos.");
        }

        if (!options.Endpoint!.IsAbsoluteUri || (options.Endpoint.Scheme != Uri.UriSchemeHttps && options.Endpoint.Scheme != Uri.UriSchemeHttp))
        {
            Fail(path, "Endpoint", $"'{options.Endpoint.OriginalString}' is not an http(s) URL.");
        }

        // No Key: Entra ID (Credential or DefaultAzureCredential), so a managed identity needs no secret in settings.
        if (!Enum.IsDefined(options.ConnectionMode))
        {
            Fail(path, "ConnectionMode", $"'{options.ConnectionMode}' is not Gateway or Direct.");
        }

        return ValidateOptionsResult.Success;
    }

    // Cosmos ids may not contain / \ ? # and must not end with a space.
    private static void CheckName(string path, string name, string value)
    {
        if (string.IsNullOrWhiteSpace(value) || value.IndexOfAny(['/', '\\', '?', '#']) >= 0 || value.Length > 255 || value != value.Trim())
        {
            Fail(path, name, $"'{value}' is not a valid Cosmos DB name (no / \\ ? #, no surrounding spaces, at most 255 characters).");
        }
    }

    private static void Fail(string path, string name, string message) =>
        throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, name), message);
}
