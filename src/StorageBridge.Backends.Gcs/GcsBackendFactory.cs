using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.Gcs;

/// <summary>
/// <c>Backend: Gcs</c> with <c>Bucket</c> (required), <c>BaseUri</c> (emulators: <c>http://127.0.0.1:4443/storage/v1/</c>),
/// <c>CredentialsFile</c> (service-account JSON; default: Application Default Credentials, or none with a BaseUri),
/// <c>PartSize</c> (multiple of 256 KiB), <c>AllowOverwrite</c> (default true) and <c>StagingPrefix</c>.
/// </summary>
public sealed class GcsBackendFactory : IUploadBackendFactory
{
    /// <summary>GCS forgets a resumable session after about a week, so an upload may not be kept longer.</summary>
    public static readonly TimeSpan MaxSessionLifetime = TimeSpan.FromDays(7);

    private readonly ILoggerFactory loggerFactory;

    public GcsBackendFactory()
        : this(NullLoggerFactory.Instance)
    {
    }

    public GcsBackendFactory(ILoggerFactory loggerFactory)
    {
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public string Name => "Gcs";

    public IUploadBackend Create(string targetName, IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        string bucket = section["Bucket"] is { Length: > 0 } b
            ? b
            : throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "Bucket"), "a GCS target needs a Bucket");

        TimeSpan? expiration = ConfigurationValues.GetDuration(section, "Expiration", TimeSpan.FromDays(1));
        if (expiration is null || expiration > MaxSessionLifetime)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "Expiration"),
                "GCS resumable sessions live about one week: Expiration must be at most 7d");
        }

        long partSize = ConfigurationValues.GetSize(section, "PartSize") ?? 8 * 1024 * 1024;
        if (partSize <= 0 || partSize % GcsBackend.ChunkGranularity != 0 || partSize > int.MaxValue)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "PartSize"),
                "must be a positive multiple of 256KiB for GCS");
        }

        var builder = new StorageClientBuilder();
        if (section["BaseUri"] is { Length: > 0 } baseUri)
        {
            builder.BaseUri = baseUri.EndsWith('/') ? baseUri : baseUri + "/";
        }

        if (section["CredentialsFile"] is { Length: > 0 } credentialsFile)
        {
            builder.Credential = CredentialFactory.FromFile<ServiceAccountCredential>(credentialsFile).ToGoogleCredential();
        }
        else if (builder.BaseUri is not null)
        {
            builder.UnauthenticatedAccess = true;
        }

        var options = new GcsBackendOptions
        {
            Bucket = bucket,
            PartSize = (int)partSize,
            AllowOverwrite = ConfigurationValues.GetBool(section, "AllowOverwrite", true),
            StagingPrefix = section["StagingPrefix"] is { Length: > 0 } prefix ? prefix : ".staging/",
        };
        return new GcsBackend(builder.Build(), options, loggerFactory.CreateLogger<GcsBackend>(), ownsClient: true);
    }
}
