using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StorageBridge.Configuration;
using StorageBridge.Events.Sqs;

namespace StorageBridge.Events.Tests;

/// <summary>
/// The SQS sink against moto's SQS, through <see cref="ICompletionEventSink"/>: byte-exact bodies with the
/// idempotency key as a message attribute, FIFO deduplication on it, and faults in the SDK's HTTP pipeline surfacing
/// as exceptions (failed attempts).
/// </summary>
[Collection(MotoSqsCollection.Name)]
public sealed class SqsSinkTests(MotoSqsFixture moto)
{
    [Fact]
    public async Task Events_arrive_as_their_camelCase_json_byte_exact_with_the_idempotency_key_as_an_attribute()
    {
        var queue = await moto.CreateQueueAsync(fifo: false);
        using var sink = Sink("orders", queue);
        var events = new[] { SampleEvents.Completed(), SampleEvents.Completed() };

        foreach (var completed in events)
        {
            await ((ICompletionEventSink)sink).DeliverAsync(completed, CancellationToken.None);
        }

        var messages = await moto.DrainAsync(queue);
        Assert.Equal(2, messages.Count);
        foreach (var completed in events)
        {
            var message = Assert.Single(messages, m => m.MessageAttributes["idempotencyKey"].StringValue == completed.IdempotencyKey);
            Assert.Equal(
                Convert.ToHexStringLower(SHA256.HashData(CompletionEventJson.SerializeToUtf8Bytes(completed))),
                Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(message.Body))));
            Assert.Equal(completed.UploadId, message.MessageAttributes["uploadId"].StringValue);
            Assert.Equal("photos", message.MessageAttributes["target"].StringValue);
            Assert.Equal("String", message.MessageAttributes["idempotencyKey"].DataType);
        }
    }

    [Fact]
    public async Task A_fifo_queue_drops_a_repeat_of_one_idempotency_key_and_groups_by_target()
    {
        var queue = await moto.CreateQueueAsync(fifo: true);
        using var sink = Sink("orders", queue);
        var first = SampleEvents.Completed(target: "photos");
        var second = SampleEvents.Completed(target: "videos");

        Assert.True(sink.IsFifo);
        await sink.DeliverAsync(first, CancellationToken.None);
        await sink.DeliverAsync(first, CancellationToken.None); // a retried attempt
        await sink.DeliverAsync(second, CancellationToken.None);

        var messages = await moto.DrainAsync(queue);
        Assert.Equal(new[] { first.IdempotencyKey, second.IdempotencyKey }.Order().ToArray(), messages.Select(m => m.MessageAttributes["idempotencyKey"].StringValue).Order().ToArray());
        var byKey = messages.ToDictionary(m => m.MessageAttributes["idempotencyKey"].StringValue);
        Assert.Equal("photos", byKey[first.IdempotencyKey].Attributes["MessageGroupId"]);
        Assert.Equal("videos", byKey[second.IdempotencyKey].Attributes["MessageGroupId"]);
        Assert.Equal(first.IdempotencyKey, byKey[first.IdempotencyKey].Attributes["MessageDeduplicationId"]);
    }

    [Fact]
    public async Task A_key_sqs_would_refuse_as_a_deduplication_id_is_hashed_the_same_way_every_time()
    {
        var queue = await moto.CreateQueueAsync(fifo: true);
        using var sink = Sink("orders", queue);
        var completed = SampleEvents.Completed(idempotencyKey: "k\u00e9y with spaces " + new string('x', 200));

        await sink.DeliverAsync(completed, CancellationToken.None);
        await sink.DeliverAsync(completed, CancellationToken.None);

        var message = Assert.Single(await moto.DrainAsync(queue));
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(completed.IdempotencyKey)));
        Assert.Equal(expected, message.Attributes["MessageDeduplicationId"]);
        Assert.Equal(expected, SqsSink.DeduplicationId(completed.IdempotencyKey));
        Assert.Equal("plain-key_1:2", SqsSink.DeduplicationId("plain-key_1:2"));
    }

    [Fact]
    public async Task A_transient_fault_is_retried_by_the_sdk_and_delivered_once()
    {
        var queue = await moto.CreateQueueAsync(fifo: false);
        var faults = SendMessageFaults();
        using var sink = Sink("orders", queue, faults, retries: 2);
        faults.Set(WireFault.Unavailable, times: 1);

        await sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None);

        Assert.Equal(1, faults.Injected);
        Assert.Single(await moto.DrainAsync(queue));
    }

    [Fact]
    public async Task An_outage_is_thrown_as_a_failed_attempt_and_stores_no_message()
    {
        var queue = await moto.CreateQueueAsync(fifo: false);
        var faults = SendMessageFaults();
        using var sink = Sink("orders", queue, faults, retries: 2);
        faults.Set(WireFault.Unavailable);

        var failure = await Assert.ThrowsAsync<AmazonSQSException>(() => sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None));

        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, failure.StatusCode);
        Assert.Equal(3, faults.Injected);
        Assert.Empty(await moto.DrainAsync(queue));
    }

    [Fact]
    public async Task A_lost_answer_is_a_failed_attempt_and_on_fifo_the_retry_is_deduplicated()
    {
        var queue = await moto.CreateQueueAsync(fifo: true);
        var faults = SendMessageFaults();
        using var sink = Sink("orders", queue, faults, retries: 0);
        var completed = SampleEvents.Completed();
        faults.Set(WireFault.ResetAfter, times: 1);

        await Assert.ThrowsAnyAsync<Exception>(() => sink.DeliverAsync(completed, CancellationToken.None));
        await sink.DeliverAsync(completed, CancellationToken.None);

        Assert.Equal(1, faults.Injected);
        Assert.Single(await moto.DrainAsync(queue));
    }

    [Fact]
    public async Task The_factory_builds_a_sink_from_its_configuration_section()
    {
        var queue = await moto.CreateQueueAsync(fifo: true);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["StorageBridge:Events:Sinks:audit:Type"] = "Sqs",
            ["StorageBridge:Events:Sinks:audit:QueueUrl"] = queue.AbsoluteUri,
            ["StorageBridge:Events:Sinks:audit:ServiceUrl"] = moto.ServiceUrl.AbsoluteUri,
            ["StorageBridge:Events:Sinks:audit:Region"] = moto.Region,
            ["StorageBridge:Events:Sinks:audit:AccessKey"] = MotoSqsFixture.AccessKey,
            ["StorageBridge:Events:Sinks:audit:SecretKey"] = MotoSqsFixture.SecretKey,
            ["StorageBridge:Events:Sinks:audit:MessageGroupId"] = "all-events",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddStorageBridgeTargets(section: null).AddSqsEvents();
        using var provider = services.BuildServiceProvider();

        var factory = Assert.Single(provider.GetServices<ICompletionEventSinkFactory>());
        Assert.Equal("Sqs", factory.Type);
        var sink = factory.Create("audit", configuration.GetSection("StorageBridge:Events:Sinks:audit"), provider);
        await sink.DeliverAsync(SampleEvents.Completed(), CancellationToken.None);

        Assert.Equal("all-events", Assert.Single(await moto.DrainAsync(queue)).Attributes["MessageGroupId"]);
        (sink as IDisposable)?.Dispose();
    }

    [Theory]
    [InlineData("QueueUrl", "", "QueueUrl")]
    [InlineData("QueueUrl", "not a url", "QueueUrl")]
    [InlineData("ServiceUrl", "ftp://x", "ServiceUrl")]
    [InlineData("AccessKey", "only-the-key", "SecretKey")]
    [InlineData("MessageGroupId", "with space", "MessageGroupId")]
    public void Bad_configuration_names_its_key(string key, string value, string named)
    {
        var settings = new Dictionary<string, string?>
        {
            ["S:QueueUrl"] = "https://sqs.eu-west-1.amazonaws.com/123456789012/completions",
            ["S:" + key] = value,
        };
        using var provider = new ServiceCollection().AddLogging().BuildServiceProvider();

        var error = Assert.Throws<StorageBridgeConfigurationException>(
            () => new SqsSinkFactory().Create("s", new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection("S"), provider));
        Assert.Equal("S:" + named, error.Key);
    }

    private SqsSink Sink(string name, Uri queue, FaultInjectingHandler? faults = null, int retries = 2) =>
        new(name, new SqsSinkOptions
        {
            QueueUrl = queue,
            ServiceUrl = moto.ServiceUrl,
            Region = moto.Region,
            AccessKey = MotoSqsFixture.AccessKey,
            SecretKey = MotoSqsFixture.SecretKey,
            ConfigureClient = config =>
            {
                config.MaxErrorRetry = retries;
                if (faults is not null)
                {
                    config.HttpClientFactory = new HandlerClientFactory(faults);
                }
            },
        }, NullLogger<SqsSink>.Instance);

    /// <summary>Faults only on SendMessage (the JSON protocol's X-Amz-Target), so receiving is unaffected.</summary>
    private static FaultInjectingHandler SendMessageFaults() => new()
    {
        Matches = r => r.Headers.TryGetValues("X-Amz-Target", out var values) && values.Any(v => v.EndsWith(".SendMessage", StringComparison.Ordinal)),
    };

    private sealed class HandlerClientFactory(HttpMessageHandler handler) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => "sqs-fault-injector";
    }
}
