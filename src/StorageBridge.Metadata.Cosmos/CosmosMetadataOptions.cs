using Microsoft.Azure.Cosmos;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>Where the Cosmos DB (NoSQL API) metadata store keeps its records.</summary>
public sealed record CosmosMetadataOptions
{
    public const string DefaultDatabase = "storagebridge";
    public const string DefaultContainer = "uploads";

    /// <summary>Account endpoint, e.g. https://myaccount.documents.azure.com:443/.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Account key (primary or secondary).</summary>
    public required string Key { get; init; }

    public string Database { get; init; } = DefaultDatabase;

    /// <summary>Container partitioned on <c>/id</c> (the upload id).</summary>
    public string Container { get; init; } = DefaultContainer;

    /// <summary>Gateway (HTTPS only, works with every emulator) or Direct (TCP to replicas; real accounts).</summary>
    public ConnectionMode ConnectionMode { get; init; } = ConnectionMode.Direct;

    /// <summary>Create the database and container at start-up when missing (needs a key with write access to the account).</summary>
    public bool CreateIfMissing { get; init; } = true;

    /// <summary>Accept any TLS certificate from the endpoint. For emulators with self-signed certificates only.</summary>
    public bool AcceptAnyServerCertificate { get; init; }

    /// <summary>Last-chance adjustments to the SDK client (tests install HTTP fault injection here).</summary>
    public Action<CosmosClientOptions>? ConfigureClient { get; init; }
}
