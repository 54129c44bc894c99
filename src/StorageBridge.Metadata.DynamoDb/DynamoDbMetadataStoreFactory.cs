using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StorageBridge.Configuration;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>
/// <c>Provider: DynamoDb</c> with <c>TableName</c> (default storagebridge-uploads), <c>ServiceUrl</c>, <c>Region</c>,
/// <c>AccessKey</c>/<c>SecretKey</c> (emulators; default: the SDK's credential chain), <c>CreateTable</c> (default false)
/// and <c>TtlGrace</c> (default 1h).
/// </summary>
internal sealed class DynamoDbMetadataStoreFactory(StorageBridgeConfigurationSource source) : IUploadMetadataStoreFactory
{
    public const string ProviderName = "DynamoDb";

    public string Name => ProviderName;

    public IUploadMetadataStore Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<DynamoDbMetadataOptions>>().Value;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger<DynamoDbUploadMetadataStore>();
        return (options.Client ?? options.ClientFactory?.Invoke(services)) is { } client
            ? new DynamoDbUploadMetadataStore(client, options, time, logger) { ConfigurationPath = source.MetadataPath }
            : new DynamoDbUploadMetadataStore(options, time, logger) { ConfigurationPath = source.MetadataPath };
    }
}

/// <summary>Binds <c>StorageBridge:Metadata</c> onto <see cref="DynamoDbMetadataOptions"/>; bad values name their key.</summary>
internal sealed class DynamoDbMetadataSectionBinder(StorageBridgeConfigurationSource source) : IConfigureOptions<DynamoDbMetadataOptions>
{
    public void Configure(DynamoDbMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (source.MetadataSection is not { } section)
        {
            return;
        }

        // TtlGrace takes durations (2d, none) like every other duration key; ServiceUrl is checked as text here.
        ConfigurationBinding.Bind(section, options, "TtlGrace", "ServiceUrl");
        if (section["TtlGrace"] is { } ttl && !string.IsNullOrWhiteSpace(ttl))
        {
            options.TtlGrace = Duration.TryParse(ttl, out var grace)
                ? grace.Value ?? TimeSpan.Zero
                : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "TtlGrace"), $"'{ttl}' is not a duration; {Duration.Hint}");
        }

        if (section["ServiceUrl"] is { } url && !string.IsNullOrWhiteSpace(url))
        {
            options.ServiceUrl = Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                ? uri
                : throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(section, "ServiceUrl"), $"'{url}' is not an http(s) URL.");
        }
    }
}

/// <summary>Checks the DynamoDB store's options at start-up; failures name the key.</summary>
internal sealed partial class DynamoDbMetadataOptionsValidator(StorageBridgeConfigurationSource source) : IValidateOptions<DynamoDbMetadataOptions>
{
    public ValidateOptionsResult Validate(string? name, DynamoDbMetadataOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var path = source.MetadataPath;
        if (options.TableName is null || !TableNamePattern().IsMatch(options.TableName))
        {
            Fail(path, "TableName", $"'{options.TableName}' is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.').");
        }

        if (options.TtlGrace < TimeSpan.Zero)
        {
            Fail(path, "TtlGrace", $"'{options.TtlGrace}' is negative.");
        }

        if (options.Client is not null || options.ClientFactory is not null)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.ServiceUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            Fail(path, "ServiceUrl", $"'{url.OriginalString}' is not an http(s) URL.");
        }

        if (!string.IsNullOrWhiteSpace(options.Region) && !RegionPattern().IsMatch(options.Region))
        {
            Fail(path, "Region", $"'{options.Region}' is not an AWS region name (e.g. eu-west-1).");
        }

        if (options.ServiceUrl is null && string.IsNullOrWhiteSpace(options.Region)
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_REGION"))
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION")))
        {
            Fail(path, "Region", "a value is required for Provider DynamoDb unless ServiceUrl or the AWS_REGION environment variable is set.");
        }

        if (string.IsNullOrEmpty(options.AccessKey) != string.IsNullOrEmpty(options.SecretKey))
        {
            Fail(path, string.IsNullOrEmpty(options.AccessKey) ? "AccessKey" : "SecretKey", "AccessKey and SecretKey go together (or leave both unset for the SDK's credential chain).");
        }

        return ValidateOptionsResult.Success;
    }

    private static void Fail(string path, string name, string message) =>
        throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, name), message);

    [GeneratedRegex("^[a-zA-Z0-9_.-]{3,255}$")]
    private static partial Regex TableNamePattern();

    [GeneratedRegex("^[a-z]{2}(-[a-z]+)+-[0-9]+$")]
    private static partial Regex RegionPattern();
}
