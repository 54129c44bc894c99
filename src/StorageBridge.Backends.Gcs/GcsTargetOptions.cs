using Google.Cloud.Storage.V1;
using StorageBridge.Configuration;

namespace StorageBridge.Backends.Gcs;

/// <summary>
/// A <c>Backend: Gcs</c> target (section <c>StorageBridge:Targets:{name}</c>, or <c>AddGcsTarget(name, o =&gt; ...)</c>).
/// The client comes from <see cref="Client"/>, else <see cref="ClientFactory"/>, else is built from <c>BaseUri</c>
/// and <c>CredentialsFile</c> (default: Application Default Credentials, or none with a BaseUri). <c>PartSize</c> is
/// a multiple of 256 KiB (default 8MiB); <c>Expiration</c> at most 7d (GCS forgets sessions after about a week).
/// </summary>
public sealed class GcsTargetOptions : StorageBridgeTargetOptions
{
    /// <summary><c>Bucket</c> (required).</summary>
    public string? Bucket { get; set; }

    /// <summary><c>BaseUri</c>: emulators, e.g. http://127.0.0.1:4443/storage/v1/.</summary>
    public string? BaseUri { get; set; }

    /// <summary><c>CredentialsFile</c>: service-account JSON.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary><c>AllowOverwrite</c> (default true).</summary>
    public bool AllowOverwrite { get; set; } = true;

    /// <summary><c>StagingPrefix</c>: where tails are staged (default .staging/).</summary>
    public string StagingPrefix { get; set; } = ".staging/";

    /// <summary>A client owned by the application (not disposed by the bridge). Code only.</summary>
    public StorageClient? Client { get; set; }

    /// <summary>Resolves the client from the application's services (not disposed by the bridge). Code only.</summary>
    public Func<IServiceProvider, StorageClient>? ClientFactory { get; set; }

    internal const int DefaultPartSize = 8 * 1024 * 1024;

    /// <summary>The backend's settings.</summary>
    public GcsBackendOptions ToBackendOptions() => new()
    {
        Bucket = Bucket ?? "",
        PartSize = (int)(PartSize?.Bytes ?? DefaultPartSize),
        AllowOverwrite = AllowOverwrite,
        StagingPrefix = string.IsNullOrEmpty(StagingPrefix) ? ".staging/" : StagingPrefix,
    };
}

/// <summary>Checks a GCS target's keys at start-up; failures name the key.</summary>
internal sealed class GcsTargetOptionsValidator(StorageBridgeConfigurationSource source) : TargetOptionsValidator<GcsTargetOptions>(source)
{
    protected override void ValidateBackend(string path, GcsTargetOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Bucket))
        {
            Fail(path, "Bucket", "a GCS target needs a Bucket");
        }

        if (options.Expiration is { } expiration && (expiration.IsNone || expiration.Value > GcsBackendFactory.MaxSessionLifetime))
        {
            Fail(path, "Expiration", "GCS resumable sessions live about one week: Expiration must be at most 7d");
        }

        if (options.PartSize is { Bytes: var partSize } && (partSize <= 0 || partSize % GcsBackend.ChunkGranularity != 0 || partSize > int.MaxValue))
        {
            Fail(path, "PartSize", "must be a positive multiple of 256KiB for GCS");
        }
    }
}
