using StorageBridge.Diagnostics;

namespace StorageBridge.Backends.AzureBlob;

/// <summary>Readiness: the target's container properties (one request; a missing container fails it).</summary>
public sealed partial class AzureBlobBackend : IStorageReadinessProbe
{
    // Without the query: a container URL may carry a SAS token.
    public string Location => container.Uri.GetLeftPart(UriPartial.Path);

    public ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        new(Classify(container.GetPropertiesAsync(cancellationToken: cancellationToken), cancellationToken));
}
