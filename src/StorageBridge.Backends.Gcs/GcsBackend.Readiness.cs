using StorageBridge.Diagnostics;

namespace StorageBridge.Backends.Gcs;

/// <summary>Readiness: the target's bucket metadata (one request; a missing bucket fails it).</summary>
public sealed partial class GcsBackend : IStorageReadinessProbe
{
    public string Location => $"gs://{options.Bucket} at {client.Service.BaseUri}";

    public ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        new(Classify(client.GetBucketAsync(options.Bucket, cancellationToken: cancellationToken), cancellationToken));
}
