using Amazon.DynamoDBv2;

namespace StorageBridge.Metadata.DynamoDb;

/// <summary>Where the DynamoDB metadata store keeps its records (section <c>StorageBridge:Metadata</c> with <c>Provider: DynamoDb</c>).</summary>
public sealed record DynamoDbMetadataOptions
{
    public const string DefaultTableName = "storagebridge-uploads";

    /// <summary><c>TableName</c>: the table (partition key <c>pk</c>, string; index <c>expiry</c>; see docs/metadata-stores.md).</summary>
    public string TableName { get; set; } = DefaultTableName;

    /// <summary><c>ServiceUrl</c>: an endpoint other than AWS's own (an emulator, a VPC endpoint URL); unset: the region's endpoint.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary><c>Region</c>: e.g. eu-west-1; unset: the SDK's default (AWS_REGION, which Lambda sets).</summary>
    public string? Region { get; set; }

    /// <summary>
    /// <c>AccessKey</c> and <c>SecretKey</c>: static credentials, for emulators and hosts outside AWS. Unset: the SDK's
    /// default chain (the Lambda execution role, instance profile, environment variables).
    /// </summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>
    /// <c>CreateTable</c>: create the table (on-demand capacity, the expiry index, TTL on <c>ttl</c>) at start-up when it
    /// is missing. For development and tests; production tables come from the infrastructure template, and with this
    /// off start-up checks that the table exists and has the expected keys and index.
    /// </summary>
    public bool CreateTable { get; set; }

    /// <summary>
    /// <c>TtlGrace</c>: how long after its expiry DynamoDB may delete a record by itself (item <c>ttl</c> = expiry + this).
    /// The expiry sweep must see a record first (it drops staged bytes and leaves the 410 tombstone); TTL only catches
    /// what no instance cleans up.
    /// </summary>
    public TimeSpan TtlGrace { get; set; } = DefaultTtlGrace;

    public static readonly TimeSpan DefaultTtlGrace = TimeSpan.FromHours(1);

    /// <summary>A client owned by the application (not disposed by the bridge); ServiceUrl, Region and keys then do not apply. Code only.</summary>
    public IAmazonDynamoDB? Client { get; set; }

    /// <summary>Resolves the client from the application's services (not disposed by the bridge). Code only.</summary>
    public Func<IServiceProvider, IAmazonDynamoDB>? ClientFactory { get; set; }

    /// <summary>Last-chance adjustments to the SDK configuration of the client the store builds (tests install HTTP fault injection here).</summary>
    public Action<AmazonDynamoDBConfig>? ConfigureClient { get; set; }
}
