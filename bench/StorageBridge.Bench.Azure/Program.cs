// Azure benchmark, two parts, each against a baseline or its peers measured in the same run:
//  1. ingest: the bridge (Host process, IETF appends, Backend: AzureBlob) vs. the Azure SDK's own parallel upload
//     (BlobClient.UploadAsync with StorageTransferOptions) of the same bytes to the same Azurite; then the Host's peak
//     RSS with 16 concurrent uploads;
//  2. metadata-store latency p50/p99 per operation (Create, Get, TryReplace, Delete, ListExpired) for SQLite and for
//     Cosmos DB (on cosmosdb-server), one client, sequential.
// Azurite runs in memory; every blob is deleted right after its run.
//
// usage: dotnet run -c Release --project bench/StorageBridge.Bench.Azure -- [--size-mib 128] [--repeat 3]
//        [--sdk-concurrency 8] [--part-size 8MiB] [--host-metadata sqlite|cosmos] [--store-ops 500] [--only ingest|stores] [--verbose]
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Azure.Cosmos;
using StorageBridge.Bench;
using StorageBridge.Bench.Azure;
using StorageBridge.Metadata;
using StorageBridge.Metadata.Cosmos;
using StorageBridge.Metadata.Sqlite;
using StorageBridge.Tests;

const int MiB = 1024 * 1024;
var sizeMiB = 128;
var repeat = 3;
var sdkConcurrency = 8;
var storeOps = 500;
var hostMetadata = "sqlite";
string? partSize = null;
string? only = null;
var verbose = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size-mib": sizeMiB = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--sdk-concurrency": sdkConcurrency = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--store-ops": storeOps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--host-metadata": hostMetadata = args[++i]; break;
        case "--part-size": partSize = args[++i]; break;
        case "--only": only = args[++i]; break;
        case "--verbose": verbose = true; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var root = Emulators.RepositoryRoot();
using var cosmos = Emulators.StartCosmos(root, out var cosmosEndpoint);
const string CosmosKey = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XQ==";

if (only is null or "ingest")
{
    await IngestAsync();
}

if (only is null or "stores")
{
    await StoreLatencyAsync();
}

cosmos.Kill(entireProcessTree: true);
return 0;

async Task IngestAsync()
{
    using var azurite = await Emulators.StartAzuriteAsync(root);
    var connectionString = Emulators.AzuriteConnectionString(azurite.Port);
    var container = new BlobContainerClient(connectionString, "bench");
    await container.CreateIfNotExistsAsync();

    var environment = new Dictionary<string, string?>
    {
        ["StorageBridge__Targets__default__Backend"] = "AzureBlob",
        ["StorageBridge__Targets__default__ConnectionString"] = connectionString,
        ["StorageBridge__Targets__default__Container"] = "bench",
        ["StorageBridge__Targets__default__PartSize"] = partSize,
    };
    if (hostMetadata == "cosmos")
    {
        environment["StorageBridge__Metadata__Provider"] = "Cosmos";
        environment["StorageBridge__Metadata__Endpoint"] = cosmosEndpoint.AbsoluteUri;
        environment["StorageBridge__Metadata__Key"] = CosmosKey;
        environment["StorageBridge__Metadata__ConnectionMode"] = "Gateway";
        environment["StorageBridge__Metadata__Container"] = "bench-host";
    }

    await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = verbose ? Console.WriteLine : null });
    using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };
    var size = (long)sizeMiB * MiB;
    var ietf = new IetfDraftProtocol();

    // Warm-up (JIT, connections) on both paths, not measured.
    await SdkUploadAsync(16 * MiB, seed: 1);
    await BridgeUploadAsync(16 * MiB, 8 * MiB, seed: 1);

    var sdkName = $"sdk UploadAsync, 8 MiB x {sdkConcurrency}";
    var results = new Dictionary<string, List<double>> { [sdkName] = [], ["bridge 8 MiB appends"] = [], ["bridge 1 MiB appends"] = [] };
    for (var run = 0; run < repeat; run++)
    {
        results[sdkName].Add(await SdkUploadAsync(size, seed: (ulong)run));
        results["bridge 8 MiB appends"].Add(await BridgeUploadAsync(size, 8 * MiB, seed: (ulong)run + 10));
        results["bridge 1 MiB appends"].Add(await BridgeUploadAsync(size, MiB, seed: (ulong)run + 100));
    }

    Console.WriteLine($"Azurite (in memory) at 127.0.0.1:{azurite.Port}, host metadata {hostMetadata}, {sizeMiB} MiB per upload, median of {repeat}:");
    var sdk = Median(results[sdkName]);
    foreach (var (name, values) in results)
    {
        var median = Median(values);
        // Each bridge run directly follows an SDK run: the median of those pairwise ratios resists a noisy machine.
        var paired = Median([.. values.Select((v, run) => v / results[sdkName][run])]);
        Console.WriteLine($"  {name,-30} {median,8:F1} MiB/s   {median / sdk:F2}x of the SDK, paired runs {paired:F2}x   (runs: {string.Join(", ", values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))})");
    }

    // Peak server memory: a fresh host process, 16 concurrent uploads in 8 MiB appends.
    await host.RestartAsync();
    var concurrentSize = Math.Max(16L * MiB, size / 4);
    var watch = Stopwatch.StartNew();
    await using (var rss = new RssSampler(host.ProcessId!.Value))
    {
        await Task.WhenAll(Enumerable.Range(0, 16).Select(i => BridgeUploadAsync(concurrentSize, 8 * MiB, seed: 1000 + (ulong)i)));
        await rss.DisposeAsync();
        Console.WriteLine($"  16 concurrent x {concurrentSize / MiB} MiB (8 MiB appends): {16.0 * concurrentSize / MiB / watch.Elapsed.TotalSeconds:F1} MiB/s, " +
            $"host peak RSS {rss.HighWaterMarkBytes / (double)MiB:F0} MiB (idle {rss.StartRssBytes / (double)MiB:F0} MiB; budget 16 x PartSize + 150 MiB = {16 * 8 + 150} MiB)");
    }

    async Task<double> SdkUploadAsync(long length, ulong seed)
    {
        var blob = container.GetBlobClient($"sdk/{Guid.NewGuid():N}");
        await using var content = new PrngStream(seed, length); // same PRNG cost as the bridge client
        var watch = Stopwatch.StartNew();
        await blob.UploadAsync(content, new BlobUploadOptions
        {
            TransferOptions = new StorageTransferOptions { InitialTransferSize = 8 * MiB, MaximumTransferSize = 8 * MiB, MaximumConcurrency = sdkConcurrency },
        });
        var seconds = watch.Elapsed.TotalSeconds;
        await VerifyAndDeleteAsync(blob, length);
        return length / (double)MiB / seconds;
    }

    async Task<double> BridgeUploadAsync(long length, int appendSize, ulong seed)
    {
        var watch = Stopwatch.StartNew();
        var upload = await ietf.CreateAsync(http, length, CancellationToken.None);
        for (long offset = 0; offset < length;)
        {
            var n = Math.Min(appendSize, length - offset);
            offset = await ietf.AppendAsync(http, upload, offset, new PrngContent(seed, offset, n, hash: null), offset + n == length, CancellationToken.None);
        }

        var seconds = watch.Elapsed.TotalSeconds;
        await VerifyAndDeleteAsync(container.GetBlobClient(upload.Segments[^1]), length);
        return length / (double)MiB / seconds;
    }
}

async Task StoreLatencyAsync()
{
    var sqlitePath = Path.Combine(Path.GetTempPath(), "sb-bench-" + Guid.NewGuid().ToString("N"), "bench.db");
    var sqlite = new SqliteUploadMetadataStore(new SqliteMetadataOptions { Path = sqlitePath });
    using var cosmosStore = new CosmosUploadMetadataStore(new CosmosMetadataOptions
    {
        Endpoint = cosmosEndpoint,
        Key = CosmosKey,
        Database = "bench",
        Container = "latency-" + Guid.NewGuid().ToString("N")[..8],
        ConnectionMode = ConnectionMode.Gateway,
    });
    Console.WriteLine($"Metadata-store latency, one client, sequential, {storeOps} operations each (ListExpired: {storeOps / 10} scans of up to 100 expired records), ms:");
    Console.WriteLine($"  {"store",-8} {"operation",-12} {"p50",8} {"p99",8} {"max",8}");
    try
    {
        foreach (var (name, store) in new (string, IUploadMetadataStore)[] { ("SQLite", sqlite), ("Cosmos", cosmosStore) })
        {
            await store.InitializeAsync(CancellationToken.None);
            foreach (var (operation, samples) in await StoreBench.MeasureAsync(store, storeOps, CancellationToken.None))
            {
                Console.WriteLine($"  {name,-8} {operation,-12} {Percentile(samples, 0.50),8:F2} {Percentile(samples, 0.99),8:F2} {samples.Max(),8:F2}");
            }
        }
    }
    finally
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Path.GetDirectoryName(sqlitePath)!, recursive: true);
    }
}

static async Task VerifyAndDeleteAsync(BlobClient blob, long length)
{
    var properties = (await blob.GetPropertiesAsync()).Value;
    if (properties.ContentLength != length)
    {
        throw new InvalidOperationException($"{blob.Name}: {properties.ContentLength} bytes stored, {length} sent");
    }

    await blob.DeleteAsync(); // Azurite keeps blobs in memory
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

static double Percentile(List<double> values, double p)
{
    var sorted = values.Order().ToList();
    return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}
