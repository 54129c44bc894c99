using Google.Apis.Auth.OAuth2;
using Google.Cloud.Storage.V1;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StorageBridge.Backends.Gcs;

/// <summary><c>Backend: Gcs</c> (keys: see <see cref="GcsTargetOptions"/>).</summary>
internal sealed class GcsBackendFactory : UploadBackendFactory<GcsTargetOptions>
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

    public override string Name => "Gcs";

    protected override IUploadBackend CreateBackend(string targetName, string path, GcsTargetOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        var client = options.Client ?? options.ClientFactory?.Invoke(services);
        return new GcsBackend(client ?? CreateClient(options), options.ToBackendOptions(), loggerFactory.CreateLogger<GcsBackend>(), ownsClient: client is null);
    }

    private static StorageClient CreateClient(GcsTargetOptions options)
    {
        var builder = new StorageClientBuilder();
        if (options.BaseUri is { Length: > 0 } baseUri)
        {
            builder.BaseUri = baseUri.EndsWith('/') ? baseUri : baseUri + "/";
        }

        if (options.CredentialsFile is { Length: > 0 } credentialsFile)
        {
            builder.Credential = CredentialFactory.FromFile<ServiceAccountCredential>(credentialsFile).ToGoogleCredential();
        }
        else if (builder.BaseUri is not null)
        {
            builder.UnauthenticatedAccess = true;
        }

        return builder.Build();
    }
}
