namespace StorageBridge.Diagnostics;

/// <summary>
/// Where a dependency keeps its data, and one call that proves it answers. Optional for a backend (<see cref="Backends.IUploadBackend"/>) or a metadata store
/// (<see cref="Metadata.IUploadMetadataStore"/>): one cheap call that proves the dependency answers (a bucket or
/// container lookup, a directory check, a query). The readiness check (<c>/healthz/ready</c>) calls it; a store that
/// does not implement it is probed with a lookup of an upload id that cannot exist.
/// </summary>
public interface IStorageReadinessProbe
{
    /// <summary>Where the data goes, for the start-up summary and the readiness answer; never a secret.</summary>
    string Location { get; }

    /// <summary>Completes when the dependency answered; throws when it did not (the exception says why).</summary>
    ValueTask ProbeAsync(CancellationToken cancellationToken);
}
