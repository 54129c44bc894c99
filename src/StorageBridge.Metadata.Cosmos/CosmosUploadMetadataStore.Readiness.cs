using StorageBridge.Diagnostics;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>
/// Readiness: one point read of an id no upload can have (upload ids are lowercase hex): about one request unit, and
/// no control-plane call (container reads count against Cosmos DB's metadata request limit).
/// </summary>
public sealed partial class CosmosUploadMetadataStore : IStorageReadinessProbe
{
    public string Location => $"Cosmos DB {_client.Endpoint} database {_options.Database} container {_options.Container}";

    public async ValueTask ProbeAsync(CancellationToken cancellationToken) =>
        await GetAsync("readiness-probe", cancellationToken).ConfigureAwait(false);
}
