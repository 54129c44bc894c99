using Amazon.Runtime;
using Amazon.S3;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.S3;

/// <summary>
/// A <c>Backend: S3</c> target (section <c>StorageBridge:Targets:{name}</c>, or <c>AddS3Target(name, o =&gt; ...)</c>).
/// The client comes from <see cref="Client"/>, else <see cref="ClientFactory"/> (e.g. the application's
/// <see cref="IAmazonS3"/> from DI), else is built from Region/ServiceUrl/credentials; a client the bridge did not
/// build is not disposed by it.
/// </summary>
public sealed class S3TargetOptions : StorageBridgeTargetOptions
{
    /// <summary><c>Bucket</c> (required).</summary>
    public string? Bucket { get; set; }

    /// <summary><c>Region</c>: AWS region (e.g. eu-west-1); with ServiceUrl only the signing region.</summary>
    public string? Region { get; set; }

    /// <summary><c>ServiceUrl</c>: endpoint of an S3-compatible store (MinIO, emulators).</summary>
    public string? ServiceUrl { get; set; }

    /// <summary><c>ForcePathStyle</c>: default true with a ServiceUrl, else false.</summary>
    public bool? ForcePathStyle { get; set; }

    /// <summary><c>AccessKey</c>/<c>SecretKey</c>: both or neither (then the SDK's default credential chain).</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary><c>MaxParts</c>: 1..10000 (default 10000).</summary>
    public int MaxParts { get; set; } = S3BackendOptions.DefaultMaxParts;

    /// <summary><c>MaxTailSegments</c>: 1..1000 (default 32).</summary>
    public int MaxTailSegments { get; set; } = S3BackendOptions.DefaultMaxTailSegments;

    /// <summary><c>UploadPartCopy</c> (default true).</summary>
    public bool UploadPartCopy { get; set; } = true;

    /// <summary><c>CreateBucketIfMissing</c> (default false).</summary>
    public bool CreateBucketIfMissing { get; set; }

    /// <summary>A client owned by the application (not disposed by the bridge). Code only.</summary>
    public IAmazonS3? Client { get; set; }

    /// <summary>Resolves the client from the application's services (not disposed by the bridge). Code only.</summary>
    public Func<IServiceProvider, IAmazonS3>? ClientFactory { get; set; }

    /// <summary>Replaces the SDK's HTTP stack of a client the bridge builds (fault injection in tests, proxies). Code only.</summary>
    public HttpClientFactory? HttpClientFactory { get; set; }

    /// <summary>The backend's settings.</summary>
    public S3BackendOptions ToBackendOptions() => new()
    {
        Bucket = Bucket ?? "",
        Prefix = Prefix ?? "",
        Region = string.IsNullOrEmpty(Region) ? null : Region,
        ServiceUrl = string.IsNullOrEmpty(ServiceUrl) ? null : ServiceUrl,
        ForcePathStyle = ForcePathStyle ?? !string.IsNullOrEmpty(ServiceUrl),
        AccessKey = string.IsNullOrEmpty(AccessKey) ? null : AccessKey,
        SecretKey = string.IsNullOrEmpty(SecretKey) ? null : SecretKey,
        MaxParts = MaxParts,
        MaxTailSegments = MaxTailSegments,
        CreateBucketIfMissing = CreateBucketIfMissing,
        UploadPartCopy = UploadPartCopy,
    };
}

/// <summary>Checks an S3 target's keys at start-up; failures name the key.</summary>
internal sealed class S3TargetOptionsValidator(StorageBridgeConfigurationSource source) : TargetOptionsValidator<S3TargetOptions>(source)
{
    protected override void ValidateBackend(string path, S3TargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            Fail(path, "Bucket", "is required for an S3 target.");
        }

        if (options.MaxParts is < 1 or > 10_000)
        {
            Fail(path, "MaxParts", $"'{options.MaxParts}' is not a number between 1 and 10000.");
        }

        if (options.MaxTailSegments is < 1 or > 1000)
        {
            Fail(path, "MaxTailSegments", $"'{options.MaxTailSegments}' is not a number between 1 and 1000.");
        }

        if (!string.IsNullOrEmpty(options.ServiceUrl) && !Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out _))
        {
            Fail(path, "ServiceUrl", $"'{options.ServiceUrl}' is not an absolute URL.");
        }

        if (string.IsNullOrEmpty(options.AccessKey) != string.IsNullOrEmpty(options.SecretKey))
        {
            Fail(path, string.IsNullOrEmpty(options.AccessKey) ? "AccessKey" : "SecretKey",
                "AccessKey and SecretKey must be given together (or neither, for the SDK's default credential chain).");
        }
    }
}
