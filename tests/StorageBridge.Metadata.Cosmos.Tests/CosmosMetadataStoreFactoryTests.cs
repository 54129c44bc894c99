using Microsoft.Azure.Cosmos;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.AspNetCore;
using StorageBridge.Configuration;
using StorageBridge.Tests;

namespace StorageBridge.Metadata.Cosmos.Tests;

public sealed class CosmosMetadataStoreFactoryTests
{
    private const string Key = CosmosEmulatorFixture.EmulatorKey;

    [Fact]
    public void Defaults_apply_when_only_endpoint_and_key_are_set()
    {
        var options = ReadOptions(Section(("Endpoint", "https://acct.documents.azure.com:443/"), ("Key", Key)));

        Assert.Equal(new Uri("https://acct.documents.azure.com:443/"), options.Endpoint);
        Assert.Equal(Key, options.Key);
        Assert.Equal("storagebridge", options.Database);
        Assert.Equal("uploads", options.Container);
        Assert.Equal(ConnectionMode.Direct, options.ConnectionMode);
        Assert.True(options.CreateIfMissing);
        Assert.False(options.AcceptAnyServerCertificate);
        Assert.Equal(TimeSpan.FromHours(1), options.TtlGrace);
    }

    [Fact]
    public void Every_setting_is_read()
    {
        var options = ReadOptions(Section(
            ("Endpoint", "http://127.0.0.1:8081/"), ("Key", Key), ("Database", "db1"), ("Container", "c1"),
            ("ConnectionMode", "gateway"), ("CreateIfMissing", "false"), ("AcceptAnyServerCertificate", "true"), ("TtlGrace", "2d")));

        Assert.Equal("db1", options.Database);
        Assert.Equal("c1", options.Container);
        Assert.Equal(ConnectionMode.Gateway, options.ConnectionMode);
        Assert.False(options.CreateIfMissing);
        Assert.True(options.AcceptAnyServerCertificate);
        Assert.Equal(TimeSpan.FromDays(2), options.TtlGrace);
        Assert.Equal(TimeSpan.Zero, ReadOptions(Section(("Endpoint", "http://h/"), ("Key", Key), ("TtlGrace", "none"))).TtlGrace);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void Without_a_key_the_options_are_valid_for_entra_id(string? key)
    {
        // No Key: the store signs in with Entra ID (DefaultAzureCredential), as a managed identity on Azure does.
        var options = ReadOptions(Section(("Endpoint", "https://acct.documents.azure.com:443/"), ("Key", key)));

        Assert.True(string.IsNullOrEmpty(options.Key));
        Assert.Null(options.Credential);
    }

    [Theory]
    [InlineData("Endpoint", null)]
    [InlineData("Endpoint", "not a url")]
    [InlineData("Endpoint", "ftp://acct/")]
    [InlineData("ConnectionMode", "Tcp")]
    [InlineData("ConnectionMode", "1")]
    [InlineData("CreateIfMissing", "maybe")]
    [InlineData("AcceptAnyServerCertificate", "yes")]
    [InlineData("Database", "a/b")]
    [InlineData("Container", "x#y")]
    [InlineData("TtlGrace", "soon")]
    public void Bad_values_fail_naming_the_key(string name, string? value)
    {
        var values = new Dictionary<string, string?>
        {
            ["Endpoint"] = "https://acct.documents.azure.com:443/",
            ["Key"] = Key,
            [name] = value,
        };

        var error = Assert.Throws<StorageBridgeConfigurationException>(
            () => ReadOptions(Section([.. values.Select(kv => (kv.Key, kv.Value))])));
        Assert.Equal($"StorageBridge:Metadata:{name}", error.Key);
        Assert.Contains($"StorageBridge:Metadata:{name}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provider_Cosmos_resolves_to_the_cosmos_store_when_registered()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "Cosmos",
            ["StorageBridge:Metadata:Endpoint"] = "http://127.0.0.1:1/",
            ["StorageBridge:Metadata:Key"] = Key,
            ["StorageBridge:Metadata:ConnectionMode"] = "Gateway",
            ["StorageBridge:Targets:default:Root"] = Path.Combine(Path.GetTempPath(), "sb-cosmos-di"),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridgeCosmos();
        services.AddStorageBridge(configuration);
        services.AddStorageBridgeCosmos(); // idempotent

        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IUploadMetadataStoreFactory>(), f => f.Name == "Cosmos");
        Assert.IsType<CosmosUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
    }

    private static IConfigurationSection Section(params (string Key, string? Value)[] values) =>
        BridgeConfiguration.Section(values.Select(v => new KeyValuePair<string, string?>("StorageBridge:Metadata:" + v.Key, v.Value)));

    /// <summary>The options as the application binds and validates them.</summary>
    private static CosmosMetadataOptions ReadOptions(IConfigurationSection section) =>
        BridgeConfiguration.ReadOptions<CosmosMetadataOptions>(section, s => s.AddStorageBridgeCosmos());
}
