using System.Globalization;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.S3;

/// <summary>
/// <c>Backend: S3</c>. Keys under the target section: <c>Bucket</c> (required), <c>Prefix</c>, <c>Region</c>,
/// <c>ServiceUrl</c>, <c>ForcePathStyle</c>, <c>AccessKey</c>/<c>SecretKey</c> (else the SDK default chain),
/// <c>MaxParts</c>, <c>MaxTailSegments</c>, <c>UploadPartCopy</c>, <c>CreateBucketIfMissing</c>. Each target gets its own client, so targets with different
/// endpoints, regions or credentials live side by side.
/// </summary>
public sealed class S3BackendFactory : IUploadBackendFactory
{
    private readonly ILoggerFactory loggerFactory;

    public S3BackendFactory()
        : this(NullLoggerFactory.Instance)
    {
    }

    public S3BackendFactory(ILoggerFactory loggerFactory)
    {
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public string Name => "S3";

    /// <summary>Replaces the SDK's HTTP stack of every client this factory builds (fault injection in tests, proxies).</summary>
    public HttpClientFactory? HttpClientFactory { get; init; }

    public IUploadBackend Create(string targetName, IConfigurationSection section)
    {
        var options = ReadOptions(section);
        return new S3Backend(CreateClient(options, HttpClientFactory), options, loggerFactory.CreateLogger<S3Backend>());
    }

    public static S3BackendOptions ReadOptions(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var bucket = section["Bucket"];
        if (string.IsNullOrWhiteSpace(bucket))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "Bucket"), "is required for an S3 target.");
        }

        var maxParts = S3BackendOptions.DefaultMaxParts;
        if (section["MaxParts"] is { Length: > 0 } maxPartsText
            && (!int.TryParse(maxPartsText, NumberStyles.None, CultureInfo.InvariantCulture, out maxParts) || maxParts is < 1 or > 10_000))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MaxParts"), $"'{maxPartsText}' is not a number between 1 and 10000.");
        }

        var maxTailSegments = S3BackendOptions.DefaultMaxTailSegments;
        if (section["MaxTailSegments"] is { Length: > 0 } segmentsText
            && (!int.TryParse(segmentsText, NumberStyles.None, CultureInfo.InvariantCulture, out maxTailSegments) || maxTailSegments is < 1 or > 1000))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MaxTailSegments"), $"'{segmentsText}' is not a number between 1 and 1000.");
        }

        var serviceUrl = section["ServiceUrl"] is { Length: > 0 } url ? url : null;
        if (serviceUrl is not null && !Uri.TryCreate(serviceUrl, UriKind.Absolute, out _))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "ServiceUrl"), $"'{serviceUrl}' is not an absolute URL.");
        }

        var accessKey = section["AccessKey"] is { Length: > 0 } a ? a : null;
        var secretKey = section["SecretKey"] is { Length: > 0 } s ? s : null;
        if ((accessKey is null) != (secretKey is null))
        {
            throw new StorageBridgeConfigurationException(
                ConfigurationValues.Key(section, accessKey is null ? "AccessKey" : "SecretKey"),
                "AccessKey and SecretKey must be given together (or neither, for the SDK's default credential chain).");
        }

        return new S3BackendOptions
        {
            Bucket = bucket,
            Prefix = section["Prefix"] ?? "",
            Region = section["Region"] is { Length: > 0 } region ? region : null,
            ServiceUrl = serviceUrl,
            ForcePathStyle = ConfigurationValues.GetBool(section, "ForcePathStyle", defaultValue: serviceUrl is not null),
            AccessKey = accessKey,
            SecretKey = secretKey,
            MaxParts = maxParts,
            MaxTailSegments = maxTailSegments,
            CreateBucketIfMissing = ConfigurationValues.GetBool(section, "CreateBucketIfMissing", defaultValue: false),
            UploadPartCopy = ConfigurationValues.GetBool(section, "UploadPartCopy", defaultValue: true),
        };
    }

    /// <summary>One client per target (connections, region and credentials are per client).</summary>
    public static AmazonS3Client CreateClient(S3BackendOptions options, HttpClientFactory? httpClientFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonS3Config { ForcePathStyle = options.ForcePathStyle };
        if (options.ServiceUrl is not null)
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region ?? "us-east-1";
        }
        else if (options.Region is not null)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }

        if (httpClientFactory is not null)
        {
            config.HttpClientFactory = httpClientFactory;
        }

        return options.AccessKey is not null
            ? new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
    }
}
