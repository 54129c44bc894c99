using System.Globalization;
using Azure.Identity;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.AzureBlob;

/// <summary>
/// <c>Backend: AzureBlob</c>: <c>Container</c> (required), <c>ConnectionString</c> or <c>ServiceUri</c> (then
/// DefaultAzureCredential: managed identity, workload identity, environment, Azure CLI), <c>MinBlockSize</c>,
/// <c>AllowOverwrite</c>, <c>CreateContainerIfMissing</c>. The block size is the target's <c>PartSize</c>.
/// </summary>
public sealed class AzureBlobBackendFactory : IUploadBackendFactory
{
    private readonly ILoggerFactory loggerFactory;

    public AzureBlobBackendFactory(ILoggerFactory? loggerFactory = null)
    {
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
    }

    public string Name => "AzureBlob";

    public IUploadBackend Create(string targetName, IConfigurationSection section) => Create(targetName, section, clientOptions: null);

    /// <summary>Like <see cref="Create(string, IConfigurationSection)"/> with client options (tests inject a transport).</summary>
    public AzureBlobBackend Create(string targetName, IConfigurationSection section, BlobClientOptions? clientOptions)
    {
        ArgumentNullException.ThrowIfNull(section);
        var options = ReadOptions(section);
        var container = CreateContainerClient(section, clientOptions);
        return new AzureBlobBackend(container, options, loggerFactory.CreateLogger<AzureBlobBackend>());
    }

    internal static AzureBlobBackendOptions ReadOptions(IConfigurationSection section)
    {
        var minBlockSize = ConfigurationValues.GetSize(section, "MinBlockSize") ?? AzureBlobBackendOptions.DefaultMinBlockSize;
        if (minBlockSize > AzureBlobBackendOptions.DefaultBlockSize * 64L)
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MinBlockSize"), $"{minBlockSize} bytes is more than the 512 MiB the engine buffers per append.");
        }

        var maxTailSegments = AzureBlobBackendOptions.DefaultMaxTailSegments;
        if (section["MaxTailSegments"] is { Length: > 0 } segmentsText
            && (!int.TryParse(segmentsText, NumberStyles.None, CultureInfo.InvariantCulture, out maxTailSegments) || maxTailSegments is < 1 or > 1000))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "MaxTailSegments"), $"'{segmentsText}' is not a number between 1 and 1000.");
        }

        return new AzureBlobBackendOptions
        {
            MinBlockSize = minBlockSize,
            MaxTailSegments = maxTailSegments,
            BlockSize = (int)Math.Max(minBlockSize, AzureBlobBackendOptions.DefaultBlockSize),
            AllowOverwrite = ConfigurationValues.GetBool(section, "AllowOverwrite", defaultValue: false),
            CreateContainerIfMissing = ConfigurationValues.GetBool(section, "CreateContainerIfMissing", defaultValue: true),
        };
    }

    internal static BlobContainerClient CreateContainerClient(IConfigurationSection section, BlobClientOptions? clientOptions)
    {
        var containerName = section["Container"];
        if (string.IsNullOrWhiteSpace(containerName))
        {
            throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "Container"), "is required for Backend: AzureBlob (the blob container name).");
        }

        var connectionString = section["ConnectionString"];
        var serviceUri = section["ServiceUri"];
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            try
            {
                return new BlobContainerClient(connectionString, containerName, clientOptions);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                // The message must not echo the connection string: it holds the account key.
                throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "ConnectionString"), "is not a valid Azure Storage connection string.");
            }
        }

        if (!string.IsNullOrWhiteSpace(serviceUri))
        {
            if (!Uri.TryCreate(serviceUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "ServiceUri"), $"'{serviceUri}' is not an absolute http(s) URI such as https://ACCOUNT.blob.core.windows.net.");
            }

            var service = new BlobServiceClient(uri, new DefaultAzureCredential(), clientOptions);
            return service.GetBlobContainerClient(containerName);
        }

        throw new StorageBridgeConfigurationException(ConfigurationValues.Key(section, "ConnectionString"), "or ServiceUri is required for Backend: AzureBlob.");
    }
}
