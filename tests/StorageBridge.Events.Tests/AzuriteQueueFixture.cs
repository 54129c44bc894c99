using System.Globalization;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using StorageBridge.Tests;

namespace StorageBridge.Events.Tests;

/// <summary>
/// Azurite's queue service (emulators/azurite, <c>azurite-queue</c>) on 127.0.0.1 and a free port, in memory. With
/// <c>STORAGEBRIDGE_AZURE_QUEUES_CONNECTIONSTRING</c> set, that account instead. Every test uses queues of its own.
/// </summary>
public sealed class AzuriteQueueFixture : IAsyncLifetime
{
    public const string EnvironmentVariable = "STORAGEBRIDGE_AZURE_QUEUES_CONNECTIONSTRING";

    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private EmulatorProcess? _azurite;

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (ExternalServices.Get(EnvironmentVariable) is { Length: > 0 } configured)
        {
            ConnectionString = configured;
            return;
        }

        var folder = Path.Combine(RepositoryLayout.Root, "emulators", "azurite");
        var executable = Path.Combine(folder, "node_modules", ".bin", "azurite-queue");
        if (!File.Exists(executable))
        {
            throw new InvalidOperationException($"{executable} is missing: run 'npm ci' in {folder} (./test.sh does).");
        }

        var port = EmulatorProcess.FreePort();
        _azurite = EmulatorProcess.Start(
            executable, folder, "--silent", "--inMemoryPersistence", "--queueHost", "127.0.0.1", "--queuePort", port.ToString(CultureInfo.InvariantCulture), "--skipApiVersionCheck");
        await _azurite.WaitForPortAsync(port, "azurite-queue");
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DevAccountKey};QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
    }

    public Task DisposeAsync()
    {
        _azurite?.Dispose();
        return Task.CompletedTask;
    }

    public static string NewQueueName() => "sb-" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>A plain SDK client, to read what the sink sent.</summary>
    public QueueClient Reader(string queue, QueueMessageEncoding encoding) =>
        new(ConnectionString, queue, new QueueClientOptions { MessageEncoding = encoding });

    /// <summary>Client options with fast retries and, when given, a transport through <paramref name="faults"/>.</summary>
    public static void Configure(QueueClientOptions options, FaultInjectingHandler? faults, int retries = 2)
    {
        options.Retry.MaxRetries = retries;
        options.Retry.Delay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(100);
        if (faults is not null)
        {
            options.Transport = new HttpClientTransport(new HttpClient(faults));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteQueueCollection : ICollectionFixture<AzuriteQueueFixture>
{
    public const string Name = "azurite-queue";
}
