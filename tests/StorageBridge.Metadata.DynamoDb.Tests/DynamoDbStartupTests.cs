using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Configuration;
using StorageBridge.Tests;
using StorageBridge.Uploads;

namespace StorageBridge.Metadata.DynamoDb.Tests;

/// <summary>Start-up against tables that are missing or shaped wrong, and the configuration keys.</summary>
[Collection(MotoCollection.Name)]
public sealed class DynamoDbStartupTests(MotoFixture moto) : IDisposable
{
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromMinutes(2));

    private CancellationToken Ct => _timeout.Token;

    public void Dispose() => _timeout.Dispose();

    [Fact]
    public async Task A_missing_table_without_CreateTable_fails_start_up_naming_the_key_and_the_way_out()
    {
        using var store = new DynamoDbUploadMetadataStore(moto.Options() with { CreateTable = false });

        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(() => store.InitializeAsync(Ct));

        Assert.Equal("StorageBridge:Metadata:TableName", error.Key);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Contains("StorageBridge:Metadata:CreateTable", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_without_the_expiry_index_fails_start_up_saying_so()
    {
        var table = MotoFixture.NewTableName();
        using var client = moto.CreateClient();
        await client.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            KeySchema = [new KeySchemaElement("id", KeyType.HASH)],
            AttributeDefinitions = [new AttributeDefinition("id", ScalarAttributeType.S)],
        }, Ct);
        using var store = new DynamoDbUploadMetadataStore(moto.Options(table) with { CreateTable = false });

        var error = await Assert.ThrowsAsync<StorageBridgeConfigurationException>(() => store.InitializeAsync(Ct));

        Assert.Contains("string partition key 'pk'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lacks the global secondary index 'expiry'", error.Message, StringComparison.Ordinal);
        Assert.Contains("lacks the global secondary index 'events'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_table_from_a_template_is_used_as_it_is()
    {
        var first = moto.Options();
        using (var creator = new DynamoDbUploadMetadataStore(first))
        {
            await creator.InitializeAsync(Ct);
        }

        using var store = new DynamoDbUploadMetadataStore(first with { CreateTable = false });
        await store.InitializeAsync(Ct);
        Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(new UploadRecord { Id = UploadIds.New(), Target = "t", ObjectKey = "k" }, Ct)).Status);
    }

    [Fact]
    public async Task An_unreachable_endpoint_fails_start_up_naming_the_table_and_endpoint()
    {
        var url = $"http://127.0.0.1:{HostProcess.GetFreeTcpPort()}/";
        using var store = new DynamoDbUploadMetadataStore(moto.Options(maxErrorRetry: 0) with { ServiceUrl = new Uri(url) });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(Ct));

        Assert.Contains("could not use table", error.Message, StringComparison.Ordinal);
        Assert.Contains(url, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_and_every_key_are_read()
    {
        var defaults = ReadOptions(Section(("Region", "eu-west-1")));
        Assert.Equal("storagebridge-uploads", defaults.TableName);
        Assert.Null(defaults.ServiceUrl);
        Assert.False(defaults.CreateTable);
        Assert.Equal(TimeSpan.FromHours(1), defaults.TtlGrace);

        var options = ReadOptions(Section(
            ("TableName", "uploads.prod"), ("ServiceUrl", "http://127.0.0.1:4566"), ("Region", "eu-central-1"),
            ("AccessKey", "a"), ("SecretKey", "s"), ("CreateTable", "true"), ("TtlGrace", "2d")));
        Assert.Equal("uploads.prod", options.TableName);
        Assert.Equal(new Uri("http://127.0.0.1:4566"), options.ServiceUrl);
        Assert.Equal("eu-central-1", options.Region);
        Assert.Equal(("a", "s"), (options.AccessKey, options.SecretKey));
        Assert.True(options.CreateTable);
        Assert.Equal(TimeSpan.FromDays(2), options.TtlGrace);
    }

    [Theory]
    [InlineData("TableName", "ab")]
    [InlineData("TableName", "has space")]
    [InlineData("ServiceUrl", "not a url")]
    [InlineData("ServiceUrl", "ftp://host/")]
    [InlineData("Region", "Europe")]
    [InlineData("CreateTable", "maybe")]
    [InlineData("TtlGrace", "soon")]
    [InlineData("SecretKey", null)]
    public void Bad_values_fail_naming_the_key(string name, string? value)
    {
        var values = new Dictionary<string, string?> { ["Region"] = "eu-west-1", ["AccessKey"] = "a", ["SecretKey"] = "s", [name] = value };

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => ReadOptions(Section([.. values.Select(kv => (kv.Key, kv.Value))])));

        Assert.Equal($"StorageBridge:Metadata:{name}", error.Key);
    }

    [Fact]
    public void Provider_DynamoDb_resolves_to_the_dynamodb_store()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Metadata:Provider"] = "DynamoDb",
            ["StorageBridge:Metadata:ServiceUrl"] = "http://127.0.0.1:1/",
            ["StorageBridge:Targets:default:Root"] = Path.Combine(Path.GetTempPath(), "sb-dynamodb-di"),
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridge(configuration).UseDynamoDbMetadata();

        using var provider = services.BuildServiceProvider();

        Assert.Single(provider.GetServices<IUploadMetadataStoreFactory>(), f => f.Name == "DynamoDb");
        Assert.IsType<DynamoDbUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
    }

    [Fact]
    public async Task The_store_uses_a_client_from_the_applications_services_and_leaves_it_open()
    {
        var files = Directory.CreateTempSubdirectory("sb-dynamodb-di-").FullName;
        try
        {
            var table = MotoFixture.NewTableName();
            var services = new ServiceCollection().AddLogging();
            services.AddSingleton<IAmazonDynamoDB>(_ => moto.CreateClient());
            services.AddStorageBridge()
                .AddFileSystemTarget("files", o => o.Root = files)
                .UseDynamoDbMetadata(sp => sp.GetRequiredService<IAmazonDynamoDB>(), o =>
                {
                    o.TableName = table;
                    o.CreateTable = true;
                });
            await using var provider = services.BuildServiceProvider();

            var store = Assert.IsType<DynamoDbUploadMetadataStore>(provider.GetRequiredService<IUploadMetadataStore>());
            await store.InitializeAsync(Ct);
            var record = new UploadRecord { Id = UploadIds.New(), Target = "files", ObjectKey = "from-di" };
            Assert.Equal(MetadataWriteStatus.Success, (await store.CreateAsync(record, Ct)).Status);
            store.Dispose();

            var client = provider.GetRequiredService<IAmazonDynamoDB>();
            var item = await client.GetItemAsync(table, new() { ["pk"] = new AttributeValue { S = "upload:" + record.Id } }, Ct);
            Assert.True(item.Item is { Count: > 0 }, "the application's client still works after the store is disposed");
        }
        finally
        {
            Directory.Delete(files, recursive: true);
        }
    }

    private static IConfigurationSection Section(params (string Key, string? Value)[] values) =>
        BridgeConfiguration.Section(values.Select(v => new KeyValuePair<string, string?>("StorageBridge:Metadata:" + v.Key, v.Value)));

    private static DynamoDbMetadataOptions ReadOptions(IConfigurationSection section) =>
        BridgeConfiguration.ReadOptions<DynamoDbMetadataOptions>(section, s => s.AddStorageBridgeDynamoDb());
}
