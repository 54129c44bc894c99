using System.Diagnostics;
using Microsoft.Azure.Cosmos;
using StorageBridge.Metadata.Cosmos;
using StorageBridge.Tests;

namespace StorageBridge.Metadata.Cosmos.Tests;

/// <summary>
/// Starts emulators/cosmosdb/start.js (@vercel/cosmosdb-server with its start-up fixes) on a free loopback port and
/// kills it by PID on dispose. STORAGEBRIDGE_COSMOS_ENDPOINT + STORAGEBRIDGE_COSMOS_KEY point the tests at a real account
/// or the Docker emulator instead (TLS certificates of localhost endpoints are then accepted).
/// </summary>
public sealed class CosmosEmulatorFixture : IAsyncLifetime
{
    /// <summary>The well-known Cosmos DB emulator key (any base64 key works with cosmosdb-server).</summary>
    public const string EmulatorKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XQ==";

    private Process? _process;

    public Uri Endpoint { get; private set; } = null!;

    public string Key { get; private set; } = EmulatorKey;

    /// <summary>True when running against the bundled cosmosdb-server (no TTL expiry, no ORDER BY).</summary>
    public bool IsBundledEmulator => _process is not null;

    public bool AcceptAnyServerCertificate => !IsBundledEmulator && Endpoint.IsLoopback;

    public async Task InitializeAsync()
    {
        var endpoint = ExternalServices.Get("STORAGEBRIDGE_COSMOS_ENDPOINT");
        if (!string.IsNullOrEmpty(endpoint))
        {
            Endpoint = new Uri(endpoint);
            Key = ExternalServices.Get("STORAGEBRIDGE_COSMOS_KEY") ?? EmulatorKey;
            return;
        }

        var directory = Path.Combine(RepositoryLayout.Root, "emulators", "cosmosdb");
        if (!Directory.Exists(Path.Combine(directory, "node_modules", "@vercel", "cosmosdb-server")))
        {
            throw new InvalidOperationException($"Run `npm ci` in {directory} first (./test.sh does).");
        }

        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true, // the wrapper exits when stdin closes, so a crashed test run leaves nothing behind
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("start.js");
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--exit-with-stdin");
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();

        // Port 0: the server picks a free port and prints it once it accepts connections.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await _process.StandardOutput.ReadLineAsync(timeout.Token)
            ?? throw new InvalidOperationException("cosmosdb-server exited before it was ready.");
        const string marker = "listening on ";
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        if (at < 0)
        {
            throw new InvalidOperationException($"Unexpected cosmosdb-server output: {line}");
        }

        Endpoint = new Uri(line[(at + marker.Length)..].Trim());
        _ = DrainAsync(_process.StandardOutput);
    }

    public Task DisposeAsync()
    {
        if (_process is { } process)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        return Task.CompletedTask;
    }

    public CosmosMetadataOptions Options(string database, string container, Action<CosmosClientOptions>? configure = null) => new()
    {
        Endpoint = Endpoint,
        Key = Key,
        Database = database,
        Container = container,
        ConnectionMode = ConnectionMode.Gateway,
        AcceptAnyServerCertificate = AcceptAnyServerCertificate,
        ConfigureClient = configure,
    };

    /// <summary>A plain SDK client for inspecting what the store wrote.</summary>
    public CosmosClient CreateClient()
    {
        var options = new CosmosClientOptions { ConnectionMode = ConnectionMode.Gateway };
        if (AcceptAnyServerCertificate)
        {
            options.ServerCertificateCustomValidationCallback = static (_, _, _) => true;
        }

        return new CosmosClient(Endpoint.AbsoluteUri, Key, options);
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is not null)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CosmosCollection : ICollectionFixture<CosmosEmulatorFixture>
{
    public const string Name = "Cosmos emulator";
}
