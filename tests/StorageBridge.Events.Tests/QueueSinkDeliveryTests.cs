using System.Security.Cryptography;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StorageBridge.Coordination;
using StorageBridge.Tests;
using StorageBridge.Tests.Support;

namespace StorageBridge.Events.Tests;

/// <summary>
/// The queue sinks behind the real dispatcher: an upload completed through the engine (a file target, sinks declared
/// in configuration) reaches the queue as one message describing it (size, sha-256 of the bytes, owner, key of the
/// stored file), and a second dispatch round delivers nothing more.
/// </summary>
internal static class QueueSinkDelivery
{
    public static async Task<UploadCompletedEvent> CompleteAndDispatchAsync(
        IDictionary<string, string?> sinkSettings, Action<IStorageBridgeBuilder> addSinks, Func<Task<byte[]>> receiveOne)
    {
        using var root = new TempDirectory("storagebridge-queue-delivery");
        var settings = new Dictionary<string, string?>(sinkSettings)
        {
            ["StorageBridge:Targets:files:Root"] = root.Combine("objects"),
            ["StorageBridge:Events:DispatchInterval"] = "none",
        };
        var services = new ServiceCollection().AddLogging();
        var builder = services.AddStorageBridge(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()).UseInMemoryMetadata();
        addSinks(builder);
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<Metadata.IUploadMetadataStore>().InitializeAsync(CancellationToken.None);
        var coordinator = provider.GetRequiredService<UploadCoordinator>();

        var bytes = new byte[300_001];
        new Random(7).NextBytes(bytes);
        var created = await coordinator.CreateAsync(
            new CreateUploadRequest { Target = "files", Length = bytes.Length, Owner = "key:alice", FileName = "report.pdf", ContentType = "application/pdf", TrackSha256 = true },
            CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, created.Outcome);
        var id = created.Upload!.Id;
        var appended = await coordinator.AppendAsync(
            new AppendRequest { Target = "files", Id = id, Owner = "key:alice", Offset = 0, Complete = true }, new MemoryStream(bytes), CancellationToken.None);
        Assert.Equal(UploadOutcome.Success, appended.Outcome);

        var dispatcher = provider.GetRequiredService<CompletionEventDispatcher>();
        var first = await dispatcher.DispatchAllDueAsync(10, CancellationToken.None);
        Assert.Equal((1, 0, 0), (first.Delivered, first.Failed, first.DeadLettered));
        var again = await dispatcher.DispatchAllDueAsync(10, CancellationToken.None);
        Assert.Equal(0, again.Delivered);

        var received = CompletionEventJson.Deserialize(await receiveOne());
        Assert.Equal(id, received.UploadId);
        Assert.Equal($"{id}:completed", received.IdempotencyKey);
        Assert.Equal("files", received.Target);
        Assert.Equal(bytes.Length, received.Size);
        Assert.Equal("key:alice", received.Principal);
        Assert.Equal("application/pdf", received.ContentType);
        Assert.Equal(Convert.ToBase64String(SHA256.HashData(bytes)), received.Checksums["sha-256"]);
        var stored = await File.ReadAllBytesAsync(Path.Combine(root.Combine("objects"), received.ObjectKey));
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(stored));
        return received;
    }
}

[Collection(AzuriteQueueCollection.Name)]
public sealed class AzureQueueDeliveryTests(AzuriteQueueFixture azurite)
{
    [Fact]
    public async Task A_completed_upload_reaches_the_azure_queue_once_through_the_dispatcher()
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        await QueueSinkDelivery.CompleteAndDispatchAsync(
            new Dictionary<string, string?>
            {
                ["StorageBridge:Events:Sinks:uploads:Type"] = "AzureQueue",
                ["StorageBridge:Events:Sinks:uploads:ConnectionString"] = azurite.ConnectionString,
                ["StorageBridge:Events:Sinks:uploads:QueueName"] = queue,
                ["StorageBridge:Events:Sinks:uploads:CreateIfMissing"] = "true",
            },
            builder => builder.AddAzureQueueEvents(),
            async () => Assert.Single((await azurite.Reader(queue, QueueMessageEncoding.Base64).ReceiveMessagesAsync(32)).Value).Body.ToArray());
    }
}

[Collection(MotoSqsCollection.Name)]
public sealed class SqsDeliveryTests(MotoSqsFixture moto)
{
    [Fact]
    public async Task A_completed_upload_reaches_the_sqs_queue_once_through_the_dispatcher()
    {
        var queue = await moto.CreateQueueAsync(fifo: true);
        var received = await QueueSinkDelivery.CompleteAndDispatchAsync(
            new Dictionary<string, string?>
            {
                ["StorageBridge:Events:Sinks:audit:Type"] = "Sqs",
                ["StorageBridge:Events:Sinks:audit:QueueUrl"] = queue.AbsoluteUri,
                ["StorageBridge:Events:Sinks:audit:ServiceUrl"] = moto.ServiceUrl.AbsoluteUri,
                ["StorageBridge:Events:Sinks:audit:Region"] = moto.Region,
                ["StorageBridge:Events:Sinks:audit:AccessKey"] = MotoSqsFixture.AccessKey,
                ["StorageBridge:Events:Sinks:audit:SecretKey"] = MotoSqsFixture.SecretKey,
            },
            builder => builder.AddSqsEvents(),
            async () => System.Text.Encoding.UTF8.GetBytes(Assert.Single(await moto.DrainAsync(queue)).Body));
        Assert.Equal("files", received.Target);
    }
}
