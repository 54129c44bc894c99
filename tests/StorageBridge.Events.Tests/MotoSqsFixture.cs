using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using StorageBridge.Tests;

namespace StorageBridge.Events.Tests;

/// <summary>
/// moto's server (emulators/moto/start.py) for SQS on 127.0.0.1 and a free port. With
/// <c>STORAGEBRIDGE_SQS_SERVICEURL</c> set, that endpoint instead (with <c>STORAGEBRIDGE_SQS_REGION</c> and the SDK's
/// credentials). Every test uses queues of its own.
/// </summary>
public sealed partial class MotoSqsFixture : IAsyncLifetime
{
    public const string AccessKey = "test";
    public const string SecretKey = "test";

    private EmulatorProcess? _moto;

    public Uri ServiceUrl { get; private set; } = new("http://127.0.0.1/");

    public string Region { get; private set; } = "us-east-1";

    public async Task InitializeAsync()
    {
        if (ExternalServices.Get("STORAGEBRIDGE_SQS_SERVICEURL") is { Length: > 0 } external)
        {
            ServiceUrl = new Uri(external);
            Region = ExternalServices.Get("STORAGEBRIDGE_SQS_REGION") ?? Region;
            return;
        }

        var folder = Path.Combine(RepositoryLayout.Root, "emulators", "moto");
        _moto = EmulatorProcess.Start("python3", folder, "start.py", "0");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (ListeningLine().Match(_moto.Output) is { Success: true } match)
            {
                ServiceUrl = new Uri(match.Groups[1].Value);
                return;
            }

            if (_moto.HasExited)
            {
                break;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException(
            $"moto did not start; install it with pip install 'moto[server]==5.2.1' (./test.sh does):\n{_moto.Output}");
    }

    public Task DisposeAsync()
    {
        _moto?.Dispose();
        return Task.CompletedTask;
    }

    public AmazonSQSClient Client() =>
        new(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonSQSConfig { ServiceURL = ServiceUrl.AbsoluteUri, AuthenticationRegion = Region });

    /// <summary>A new queue (FIFO when asked, without content-based deduplication); returns its URL.</summary>
    public async Task<Uri> CreateQueueAsync(bool fifo)
    {
        using var client = Client();
        var name = "sb-" + Guid.NewGuid().ToString("N")[..16] + (fifo ? ".fifo" : "");
        var created = await client.CreateQueueAsync(new CreateQueueRequest
        {
            QueueName = name,
            Attributes = fifo ? new Dictionary<string, string> { ["FifoQueue"] = "true", ["ContentBasedDeduplication"] = "false" } : [],
        });
        return new Uri(created.QueueUrl);
    }

    /// <summary>Every message in the queue now (received with all attributes, then deleted).</summary>
    public async Task<List<Message>> DrainAsync(Uri queue)
    {
        using var client = Client();
        var messages = new List<Message>();
        while (true)
        {
            var received = await client.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = queue.AbsoluteUri,
                MaxNumberOfMessages = 10,
                WaitTimeSeconds = 0,
                MessageAttributeNames = ["All"],
                MessageSystemAttributeNames = ["All"],
            });
            if (received.Messages is not { Count: > 0 } batch)
            {
                return messages;
            }

            messages.AddRange(batch);
            foreach (var message in batch)
            {
                await client.DeleteMessageAsync(queue.AbsoluteUri, message.ReceiptHandle);
            }
        }
    }

    [GeneratedRegex(@"moto listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}

[CollectionDefinition(Name)]
public sealed class MotoSqsCollection : ICollectionFixture<MotoSqsFixture>
{
    public const string Name = "moto-sqs";
}
