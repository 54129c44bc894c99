using Azure.Storage.Blobs;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.AzureBlob;

/// <summary>
/// A <c>Backend: AzureBlob</c> target (section <c>StorageBridge:Targets:{name}</c>, or <c>AddAzureBlobTarget(name, o =&gt; ...)</c>).
/// The container client comes from <see cref="ContainerClient"/>, else <see cref="ServiceClient"/> or
/// <see cref="ServiceClientFactory"/> with <see cref="Container"/>, else <see cref="ConnectionString"/> or
/// <see cref="ServiceUri"/> (then DefaultAzureCredential). The block size is the target's <c>PartSize</c>; <c>Expiration</c>
/// at most 7d (Azure discards uncommitted blocks a week after the last Put Block).
/// </summary>
public sealed class AzureBlobTargetOptions : StorageBridgeTargetOptions
{
    /// <summary><c>Container</c>: the blob container (required unless <see cref="ContainerClient"/> is set).</summary>
    public string? Container { get; set; }

    /// <summary><c>ConnectionString</c>: account connection string (holds the key; never echoed in errors).</summary>
    public string? ConnectionString { get; set; }

    /// <summary><c>ServiceUri</c>: https://ACCOUNT.blob.core.windows.net with DefaultAzureCredential.</summary>
    public string? ServiceUri { get; set; }

    /// <summary><c>MinBlockSize</c>: smallest non-final block (default 4MiB, at most 512MiB).</summary>
    public ByteSize? MinBlockSize { get; set; }

    /// <summary><c>MaxTailSegments</c>: 1..1000 (default 32).</summary>
    public int MaxTailSegments { get; set; } = AzureBlobBackendOptions.DefaultMaxTailSegments;

    /// <summary><c>AllowOverwrite</c> (default false).</summary>
    public bool AllowOverwrite { get; set; }

    /// <summary><c>CreateContainerIfMissing</c> (default true).</summary>
    public bool CreateContainerIfMissing { get; set; } = true;

    /// <summary>A container client owned by the application. Code only.</summary>
    public BlobContainerClient? ContainerClient { get; set; }

    /// <summary>A service client owned by the application; <see cref="Container"/> names the container. Code only.</summary>
    public BlobServiceClient? ServiceClient { get; set; }

    /// <summary>Resolves the service client from the application's services. Code only.</summary>
    public Func<IServiceProvider, BlobServiceClient>? ServiceClientFactory { get; set; }

    /// <summary>Client options for a client the bridge builds (tests inject a transport). Code only.</summary>
    public BlobClientOptions? ClientOptions { get; set; }

    /// <summary>The backend's settings.</summary>
    public AzureBlobBackendOptions ToBackendOptions()
    {
        var minBlockSize = MinBlockSize?.Bytes ?? AzureBlobBackendOptions.DefaultMinBlockSize;
        return new AzureBlobBackendOptions
        {
            MinBlockSize = minBlockSize,
            MaxTailSegments = MaxTailSegments,
            BlockSize = (int)Math.Max(minBlockSize, AzureBlobBackendOptions.DefaultBlockSize),
            AllowOverwrite = AllowOverwrite,
            CreateContainerIfMissing = CreateContainerIfMissing,
        };
    }
}

/// <summary>Checks an Azure Blob target's keys at start-up; failures name the key.</summary>
internal sealed class AzureBlobTargetOptionsValidator(StorageBridgeConfigurationSource source) : TargetOptionsValidator<AzureBlobTargetOptions>(source)
{
    /// <summary>Azure discards a blob's uncommitted blocks a week after the last Put Block, so no upload may stay open longer.</summary>
    internal static readonly TimeSpan MaxUncommittedLifetime = TimeSpan.FromDays(7);

    protected override void ValidateBackend(string path, AzureBlobTargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Expiration is { } expiration && (expiration.IsNone || expiration.Value > MaxUncommittedLifetime))
        {
            Fail(path, "Expiration", "Azure discards uncommitted blocks one week after the last Put Block: Expiration must be at most 7d");
        }

        if (options.MinBlockSize is { Bytes: var minBlockSize } && minBlockSize > AzureBlobBackendOptions.DefaultBlockSize * 64L)
        {
            Fail(path, "MinBlockSize", $"{minBlockSize} bytes is more than the 512 MiB the engine buffers per append.");
        }

        if (options.MaxTailSegments is < 1 or > 1000)
        {
            Fail(path, "MaxTailSegments", $"'{options.MaxTailSegments}' is not a number between 1 and 1000.");
        }

        if (options.ContainerClient is not null)
        {
            return;
        }

        if (string.IsNullOrWhiteSpace(options.Container))
        {
            Fail(path, "Container", "is required for Backend: AzureBlob (the blob container name).");
        }

        if (options.ServiceClient is not null || options.ServiceClientFactory is not null || !string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            return;
        }

        if (!string.IsNullOrWhiteSpace(options.ServiceUri))
        {
            if (!Uri.TryCreate(options.ServiceUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                Fail(path, "ServiceUri", $"'{options.ServiceUri}' is not an absolute http(s) URI such as https://ACCOUNT.blob.core.windows.net.");
            }

            return;
        }

        Fail(path, "ConnectionString", "or ServiceUri is required for Backend: AzureBlob.");
    }
}
