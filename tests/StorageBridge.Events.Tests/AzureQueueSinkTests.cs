using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;
using StorageBridge.Events.AzureQueues;

namespace StorageBridge.Events.Tests;

/// <summary>
/// The Azure Storage Queue sink against Azurite's queue service, through <see cref="ICompletionEventSink"/>: events
/// arrive byte-exact, one message each; faults in the SDK's HTTP pipeline surface as exceptions (failed attempts),
/// never as a delivery that silently did not happen.
/// </summary>
[Collection(AzuriteQueueCollection.Name)]
public sealed class AzureQueueSinkTests(AzuriteQueueFixture azurite)
{
    [Theory]
    [InlineData(AzureQueueMessageEncoding.Base64)]
    [InlineData(AzureQueueMessageEncoding.None)]
    public async Task Events_arrive_as_their_camelCase_json_byte_exact_one_message_each(AzureQueueMessageEncoding encoding)
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        ICompletionEventSink sink = Sink("orders", queue, encoding: encoding);
        var events = new[] { SampleEvents.Completed(), SampleEvents.Completed(), SampleEvents.Completed() };

        foreach (var completed in events)
        {
            await sink.DeliverAsync(completed, CancellationToken.None);
        }

        // As stored (peeked: receiving would hide them): with Base64, what Azure Functions' queue trigger reads.
        var raw = (await azurite.Reader(queue, QueueMessageEncoding.None).PeekMessagesAsync(32)).Value.Select(m => m.Body.ToString()).ToHashSet();
        var stored = CompletionEventJson.SerializeToUtf8Bytes(events[1]);
        Assert.Contains(encoding == AzureQueueMessageEncoding.Base64 ? Convert.ToBase64String(stored) : Encoding.UTF8.GetString(stored), raw);

        var reader = azurite.Reader(queue, encoding == AzureQueueMessageEncoding.Base64 ? QueueMessageEncoding.Base64 : QueueMessageEncoding.None);
        var messages = (await reader.ReceiveMessagesAsync(maxMessages: 32)).Value;
        Assert.Equal(3, messages.Length);
        var expected = events.Select(e => Convert.ToHexStringLower(SHA256.HashData(CompletionEventJson.SerializeToUtf8Bytes(e)))).Order().ToArray();
        Assert.Equal(expected, messages.Select(m => Convert.ToHexStringLower(SHA256.HashData(m.Body.ToArray()))).Order().ToArray());

        var body = messages.Select(m => m.Body.ToString()).First(b => b.Contains(events[0].IdempotencyKey, StringComparison.Ordinal));
        Assert.StartsWith("{\"idempotencyKey\":\"" + events[0].IdempotencyKey + "\",\"uploadId\":", body, StringComparison.Ordinal);
        var parsed = CompletionEventJson.Deserialize(Encoding.UTF8.GetBytes(body));
        Assert.Equal(events[0].ObjectKey, parsed.ObjectKey);
        Assert.Equal(events[0].Metadata, parsed.Metadata);
        Assert.Equal(events[0].CompletedAt, parsed.CompletedAt);
    }

    [Fact]
    public async Task A_missing_queue_is_created_when_asked_and_is_a_failed_attempt_otherwise()
    {
        var missing = AzuriteQueueFixture.NewQueueName();
        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => Sink("strict", missing, create: false).DeliverAsync(SampleEvents.Completed(), CancellationToken.None));
        Assert.Equal(404, failure.Status);

        await Sink("creating", missing, create: true).DeliverAsync(SampleEvents.Completed(), CancellationToken.None);
        Assert.Single((await azurite.Reader(missing, QueueMessageEncoding.Base64).ReceiveMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_transient_fault_is_retried_by_the_sdk_and_delivered_once()
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        var faults = SendMessageFaults();
        var sink = Sink("orders", queue, faults: faults, retries: 2);
        faults.Set(WireFault.Unavailable, times: 1);

        await sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None);

        Assert.Equal(1, faults.Injected);
        Assert.Single((await azurite.Reader(queue, QueueMessageEncoding.Base64).ReceiveMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task An_outage_is_thrown_as_a_failed_attempt_and_stores_no_message()
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        var faults = SendMessageFaults();
        var sink = Sink("orders", queue, faults: faults, retries: 2);
        faults.Set(WireFault.Unavailable);

        var failure = await Assert.ThrowsAsync<RequestFailedException>(() => sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None));

        Assert.Equal(503, failure.Status);
        Assert.Equal(3, faults.Injected);
        Assert.Empty((await azurite.Reader(queue, QueueMessageEncoding.Base64).ReceiveMessagesAsync(32)).Value);
    }

    [Fact]
    public async Task A_lost_answer_is_a_failed_attempt_even_though_the_message_arrived_so_delivery_is_at_least_once()
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        var faults = SendMessageFaults();
        var sink = Sink("orders", queue, faults: faults, retries: 0);
        var completed = SampleEvents.Completed();
        faults.Set(WireFault.ResetAfter, times: 1);

        await Assert.ThrowsAnyAsync<Exception>(() => sink.DeliverAsync(completed, CancellationToken.None));
        // The dispatcher tries again: the receiver sees the event twice and drops the repeat by its idempotency key.
        await sink.DeliverAsync(completed, CancellationToken.None);

        var messages = (await azurite.Reader(queue, QueueMessageEncoding.Base64).ReceiveMessagesAsync(32)).Value;
        Assert.Equal(2, messages.Length);
        Assert.Single(messages.Select(m => CompletionEventJson.Deserialize(m.Body.ToMemory().Span).IdempotencyKey).Distinct());
    }

    [Fact]
    public async Task The_factory_builds_a_sink_from_its_configuration_section_and_code_configuration()
    {
        var queue = AzuriteQueueFixture.NewQueueName();
        var configuration = Configuration(new()
        {
            ["StorageBridge:Events:Sinks:orders:Type"] = "AzureQueue",
            ["StorageBridge:Events:Sinks:orders:ConnectionString"] = azurite.ConnectionString,
            ["StorageBridge:Events:Sinks:orders:QueueName"] = queue,
            ["StorageBridge:Events:Sinks:orders:CreateIfMissing"] = "true",
            ["StorageBridge:Events:Sinks:orders:MessageEncoding"] = "None",
        });
        var configured = false;
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridgeTargets(section: null).AddAzureQueueEvents().AddAzureQueueEvents();
        services.Configure<AzureQueueSinkOptions>("orders", o => o.ConfigureClient = _ => configured = true);
        using var provider = services.BuildServiceProvider();

        var factory = Assert.Single(provider.GetServices<ICompletionEventSinkFactory>());
        Assert.Equal("AzureQueue", factory.Type);
        var sink = factory.Create("orders", configuration.GetSection("StorageBridge:Events:Sinks:orders"), provider);
        await sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None);

        Assert.Equal("orders", sink.Name);
        Assert.True(configured);
        var message = Assert.Single((await azurite.Reader(queue, QueueMessageEncoding.None).ReceiveMessagesAsync(32)).Value);
        Assert.StartsWith("{\"idempotencyKey\":", message.Body.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("QueueName", "Bad_Name", "QueueName")]
    [InlineData("QueueName", "ab", "QueueName")]
    [InlineData("QueueName", "double--hyphen", "QueueName")]
    [InlineData("ConnectionString", "", "ConnectionString")]
    [InlineData("CreateIfMissing", "maybe", "CreateIfMissing")]
    [InlineData("MessageEncoding", "Utf7", "MessageEncoding")]
    public void Bad_configuration_names_its_key(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["S:ConnectionString"] = "UseDevelopmentStorage=true",
            ["S:QueueName"] = "completions",
            ["S:" + key] = value,
        };
        using var provider = new ServiceCollection().AddLogging().BuildServiceProvider();

        var error = Assert.Throws<StorageBridgeConfigurationException>(() => new AzureQueueSinkFactory().Create("s", Configuration(settings).GetSection("S"), provider));
        Assert.Equal("S:" + named, error.Key);
    }

    private AzureQueueSink Sink(
        string name, string queue, bool create = true, AzureQueueMessageEncoding encoding = AzureQueueMessageEncoding.Base64,
        FaultInjectingHandler? faults = null, int retries = 2) =>
        new(name, new AzureQueueSinkOptions
        {
            ConnectionString = azurite.ConnectionString,
            QueueName = queue,
            CreateIfMissing = create,
            MessageEncoding = encoding,
            ConfigureClient = o => AzuriteQueueFixture.Configure(o, faults, retries),
        }, NullLogger<AzureQueueSink>.Instance);

    /// <summary>Faults only on Put Message (POST .../messages), so creating the queue is unaffected.</summary>
    private static FaultInjectingHandler SendMessageFaults() => new()
    {
        Matches = r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath.EndsWith("/messages", StringComparison.Ordinal),
    };

    private static IConfigurationRoot Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
