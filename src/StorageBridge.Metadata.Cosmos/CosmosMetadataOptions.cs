using Azure.Core;
using Microsoft.Azure.Cosmos;

namespace StorageBridge.Metadata.Cosmos;

/// <summary>Where the Cosmos DB (NoSQL API) metadata store keeps its records.</summary>
public sealed record CosmosMetadataOptions
{
    public const string DefaultDatabase = "storagebridge";
    public const string DefaultContainer = "uploads";

    /// <summary>Account endpoint, e.g. https://myaccount.documents.azure.com:443/.</summary>
    public required Uri Endpoint { get; set; }

    /// <summary>
    /// Account key (primary or secondary). Empty: Microsoft Entra ID instead of a key, with <see cref="Credential"/>
    /// or else DefaultAzureCredential (a managed identity on Azure; AZURE_CLIENT_ID picks a user-assigned one). The
    /// identity needs a Cosmos DB data-plane role (Built-in Data Contributor) on the database or account.
    /// </summary>
    public string? Key { get; set; }

    /// <summary>The Entra ID credential used when <see cref="Key"/> is empty (default: DefaultAzureCredential). Code only.</summary>
    public TokenCredential? Credential { get; set; }

    public string Database { get; set; } = DefaultDatabase;

    /// <summary>Container partitioned on <c>/id</c> (the upload id).</summary>
    public string Container { get; set; } = DefaultContainer;

    /// <summary>Gateway (HTTPS only, works with every emulator) or Direct (TCP to replicas; real accounts).</summary>
    public ConnectionMode ConnectionMode { get; set; } = ConnectionMode.Direct;

    /// <summary>Create the database and container at start-up when missing (needs a key with write access to the account).</summary>
    public bool CreateIfMissing { get; set; } = true;

    /// <summary>Accept any TLS certificate from the endpoint. For emulators with self-signed certificates only.</summary>
    public bool AcceptAnyServerCertificate { get; set; }

    /// <summary>
    /// How long after its expiry Cosmos DB may drop a record by itself (item ttl = time left + this). The expiry scan
    /// must see a record first: it drops the upload's staged bytes, finishes an interrupted completion and leaves the
    /// 410 tombstone; the ttl is only the safety net for records no instance cleans up. Zero: ttl = time left exactly.
    /// </summary>
    public TimeSpan TtlGrace { get; set; } = DefaultTtlGrace;

    public static readonly TimeSpan DefaultTtlGrace = TimeSpan.FromHours(1);

    /// <summary>A client owned by the application (not disposed by the bridge); Endpoint and Key are then not needed. Code only.</summary>
    public CosmosClient? Client { get; set; }

    /// <summary>Resolves the client from the application's services (not disposed by the bridge). Code only.</summary>
    public Func<IServiceProvider, CosmosClient>? ClientFactory { get; set; }

    /// <summary>Last-chance adjustments to the SDK client (tests install HTTP fault injection here).</summary>
    public Action<CosmosClientOptions>? ConfigureClient { get; set; }
}
