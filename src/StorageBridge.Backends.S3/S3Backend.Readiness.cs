using Amazon.S3.Model;
using StorageBridge.Diagnostics;

namespace StorageBridge.Backends.S3;

/// <summary>Readiness: HeadBucket on the target's bucket (after creating it, for targets that create it on first use).</summary>
public sealed partial class S3Backend : IStorageReadinessProbe
{
    public string Location =>
        $"s3://{options.Bucket} at {(client.Config.ServiceURL is { Length: > 0 } url ? url : client.Config.RegionEndpoint?.SystemName ?? "the default region")}";

    public ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        new(Classify(ProbeCoreAsync(cancellationToken), cancellationToken));

    private async Task ProbeCoreAsync(CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        await client.HeadBucketAsync(new HeadBucketRequest { BucketName = options.Bucket }, cancellationToken).ConfigureAwait(false);
    }
}
