using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.AzureBlob;

/// <summary><c>Backend: AzureBlob</c> (keys: see <see cref="AzureBlobTargetOptions"/>).</summary>
internal sealed class AzureBlobBackendFactory : UploadBackendFactory<AzureBlobTargetOptions>
{
    private readonly ILoggerFactory loggerFactory;

    public AzureBlobBackendFactory(ILoggerFactory? loggerFactory = null)
    {
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public override string Name => "AzureBlob";

    protected override IUploadBackend CreateBackend(string targetName, string path, AzureBlobTargetOptions options, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AzureBlobBackend(CreateContainerClient(path, options, services), options.ToBackendOptions(), loggerFactory.CreateLogger<AzureBlobBackend>());
    }

    private static BlobContainerClient CreateContainerClient(string path, AzureBlobTargetOptions options, IServiceProvider services)
    {
        if (options.ContainerClient is { } container)
        {
            return container;
        }

        var service = options.ServiceClient ?? options.ServiceClientFactory?.Invoke(services);
        if (service is not null)
        {
            return service.GetBlobContainerClient(options.Container);
        }

        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            try
            {
                return new BlobContainerClient(options.ConnectionString, options.Container, options.ClientOptions);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                // The message must not echo the connection string: it holds the account key.
                throw new StorageBridgeConfigurationException(ConfigurationBinding.Key(path, "ConnectionString"), "is not a valid Azure Storage connection string.");
            }
        }

        // The validator checked that ServiceUri is an absolute http(s) URI.
        return new BlobServiceClient(new Uri(options.ServiceUri!), new DefaultAzureCredential(), options.ClientOptions)
            .GetBlobContainerClient(options.Container);
    }
}
