namespace StorageBridge.Tests;

/// <summary>
/// Where the emulator fixtures find an external service instead of starting their own. Each service has its own
/// variables (<c>STORAGEBRIDGE_S3_SERVICEURL</c>, ...); the one switch <c>STORAGEBRIDGE_TEST_SERVICES=compose</c>
/// fills in all of them with the containers of docker-compose.emulators.yml (MinIO, Azurite, the Cosmos DB emulator)
/// on their published loopback ports. A variable set explicitly still wins. Without either, the fixtures start the
/// emulators the suite brings (CI).
/// </summary>
public static class ExternalServices
{
    public const string Switch = "STORAGEBRIDGE_TEST_SERVICES";

    /// <summary>The values docker-compose.emulators.yml gives its containers (ports, keys, accounts).</summary>
    public static IReadOnlyDictionary<string, string> Compose { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["STORAGEBRIDGE_S3_SERVICEURL"] = "http://127.0.0.1:9000",
        ["STORAGEBRIDGE_S3_ACCESSKEY"] = "minioadmin",
        ["STORAGEBRIDGE_S3_SECRETKEY"] = "minioadmin",
        ["STORAGEBRIDGE_S3_BUCKET"] = "storagebridge-tests",
        ["STORAGEBRIDGE_S3_REGION"] = "us-east-1",
        ["STORAGEBRIDGE_AZURE_CONNECTIONSTRING"] =
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            + "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
            + "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
        ["STORAGEBRIDGE_COSMOS_ENDPOINT"] = "http://127.0.0.1:8081/", // the vNext emulator speaks HTTP unless told otherwise
        ["STORAGEBRIDGE_COSMOS_KEY"] = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==",
    };

    /// <summary>The variable's value: set explicitly, else the compose default when the switch says so, else null.</summary>
    public static string? Get(string name) => Get(name, Environment.GetEnvironmentVariable);

    public static string? Get(string name, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        if (environment(name) is { Length: > 0 } value)
        {
            return value;
        }

        return string.Equals(environment(Switch), "compose", StringComparison.OrdinalIgnoreCase) && Compose.TryGetValue(name, out var fallback)
            ? fallback
            : null;
    }
}
