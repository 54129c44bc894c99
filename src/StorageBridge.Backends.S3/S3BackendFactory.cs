using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StorageBridge.Backends.S3;

/// <summary>
/// <c>Backend: S3</c> (keys: see <see cref="S3TargetOptions"/>). Each target gets its own client unless the
/// application hands one in, so targets with different endpoints, regions or credentials live side by side.
/// </summary>
public sealed class S3BackendFactory : UploadBackendFactory<S3TargetOptions>
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

    public override string Name => "S3";

    protected override IUploadBackend CreateBackend(string targetName, string path, S3TargetOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        var backendOptions = options.ToBackendOptions();
        var client = options.Client ?? options.ClientFactory?.Invoke(services);
        return new S3Backend(
            client ?? CreateClient(backendOptions, options.HttpClientFactory),
            backendOptions,
            loggerFactory.CreateLogger<S3Backend>(),
            ownsClient: client is null);
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
