// S3 ingest benchmark: the bridge (Host process, IETF appends, Backend: S3) vs. the AWS SDK's own UploadPart loop,
// same bytes, same fauxqs emulator, same run. Sizes stay modest because fauxqs keeps every object in memory; each
// object is deleted right after its run.
//
// usage: dotnet run -c Release --project bench/StorageBridge.Bench.S3 -- [--size-mib 128] [--repeat 3] [--part-size 8MiB]
//        [--concurrent-parts N] [--tail-segments N] [--verbose]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Amazon.S3;
using Amazon.S3.Model;
using StorageBridge.Backends.S3;
using StorageBridge.Bench;
using StorageBridge.Tests;

const int MiB = 1024 * 1024;
var sizeMiB = 128;
var repeat = 3;
var verbose = false;
string? partSize = null;
string? concurrentParts = null;
string? tailSegments = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size-mib": sizeMiB = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--verbose": verbose = true; break;
        case "--part-size": partSize = args[++i]; break;
        case "--concurrent-parts": concurrentParts = args[++i]; break;
        case "--tail-segments": tailSegments = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var size = (long)sizeMiB * MiB;
using var emulator = Fauxqs.Start(out var serviceUrl);
var options = new S3BackendOptions
{
    Bucket = "bench",
    ServiceUrl = serviceUrl,
    ForcePathStyle = true,
    Region = "us-east-1",
    AccessKey = "test",
    SecretKey = "test",
};
using var s3 = S3BackendFactory.CreateClient(options);
await s3.PutBucketAsync(new PutBucketRequest { BucketName = options.Bucket });

// Two targets on the same bucket: "s3" with tails as staging objects, "s3local" with StagingDirectory (tails as local
// files, so small appends reach S3 once).
var environment = new Dictionary<string, string?>();
AddTarget("s3");
AddTarget("s3local");
environment["StorageBridge__Targets__s3__MaxConcurrentParts"] = concurrentParts;
environment["StorageBridge__Targets__s3__MaxTailSegments"] = tailSegments;
environment["StorageBridge__Targets__s3local__StagingDirectory"] = "staging";

void AddTarget(string name)
{
    var prefix = $"StorageBridge__Targets__{name}__";
    environment[prefix + "Backend"] = "S3";
    environment[prefix + "Bucket"] = options.Bucket;
    environment[prefix + "ServiceUrl"] = serviceUrl;
    environment[prefix + "AccessKey"] = "test";
    environment[prefix + "SecretKey"] = "test";
    environment[prefix + "Prefix"] = "bridge/";
    environment[prefix + "PartSize"] = partSize;
}
await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, OutputSink = verbose ? Console.WriteLine : null });
using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

// Warm-up (JIT tiers, connections, the emulator's own warm-up) on every measured path, not measured: with one 8 MiB
// upload each, the first two measured runs of every series were about 35% slower than the rest.
for (var i = 0; i < 2; i++)
{
    await SdkUploadAsync(32 * MiB, 8 * MiB);
    await BridgeUploadAsync(32 * MiB, 8 * MiB, seed: 1);
    await BridgeUploadAsync(16 * MiB, MiB, seed: 2);
    await BridgeUploadAsync(16 * MiB, MiB, seed: 3, target: "s3local");
}

var results = new Dictionary<string, List<double>>
{
    ["sdk 8 MiB parts"] = [], ["bridge 8 MiB appends"] = [], ["bridge 1 MiB appends"] = [], ["bridge one PATCH"] = [],
    ["1 MiB, StagingDirectory"] = [],
};
for (var run = 0; run < repeat; run++)
{
    results["sdk 8 MiB parts"].Add(await SdkUploadAsync(size, 8 * MiB));
    results["bridge 8 MiB appends"].Add(await BridgeUploadAsync(size, 8 * MiB, seed: (ulong)run));
    results["bridge 1 MiB appends"].Add(await BridgeUploadAsync(size, MiB, seed: (ulong)run + 100));
    results["bridge one PATCH"].Add(await BridgeUploadAsync(size, (int)size, seed: (ulong)run + 200)); // parts of one append in parallel
    results["1 MiB, StagingDirectory"].Add(await BridgeUploadAsync(size, MiB, seed: (ulong)run + 300, target: "s3local"));
}

Console.WriteLine($"fauxqs at {serviceUrl}, {sizeMiB} MiB per upload, median of {repeat}:");
var sdkRuns = results["sdk 8 MiB parts"];
var sdk = Median(sdkRuns);
foreach (var (name, values) in results)
{
    var median = Median(values);
    // Each run's ratio is against the SDK run just before it, so load swings on a shared machine cancel out.
    var ratios = values.Select((v, i) => v / sdkRuns[i]).ToList();
    Console.WriteLine($"  {name,-22} {median,8:F1} MiB/s   {median / sdk:F2}x of the SDK, median per-run ratio {Median(ratios):F2}x   " +
        $"(runs: {string.Join(", ", values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))})");
}

// Peak server memory: a fresh host process, 16 concurrent uploads in 8 MiB appends, VmHWM afterwards.
await host.RestartAsync();
await BridgeUploadAsync(8 * MiB, 8 * MiB, seed: 2); // warm-up: what the runtime, Kestrel and the SDK hold before the load
var idle = StatusMiB(host.ProcessId!.Value, "VmRSS:");
var concurrentSize = Math.Max(16L * MiB, size / 4);
var watch = Stopwatch.StartNew();
await Task.WhenAll(Enumerable.Range(0, 16).Select(i => BridgeUploadAsync(concurrentSize, 8 * MiB, seed: 1000 + (ulong)i)));
var peak = PeakRssMiB(host.ProcessId!.Value);
Console.WriteLine($"  16 concurrent x {concurrentSize / MiB} MiB (8 MiB appends): {16.0 * concurrentSize / MiB / watch.Elapsed.TotalSeconds:F1} MiB/s, " +
    $"host peak RSS {peak:F0} MiB, {idle:F0} MiB after one warm-up upload (budget 16 x PartSize + 150 MiB = {16 * 8 + 150} MiB)");
emulator.Kill(entireProcessTree: true);
return 0;

async Task<double> SdkUploadAsync(long length, int partSize)
{
    var key = $"sdk/{Guid.NewGuid():N}";
    var buffer = new byte[partSize];
    var watch = Stopwatch.StartNew();
    var mpu = await s3.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = options.Bucket, Key = key });
    var parts = new List<PartETag>();
    for (long offset = 0, number = 1; offset < length; offset += partSize, number++)
    {
        var n = (int)Math.Min(partSize, length - offset);
        DeterministicData.Fill(7, offset, buffer.AsSpan(0, n)); // same PRNG cost as the bridge client
        using var body = new MemoryStream(buffer, 0, n, writable: false);
        var part = await s3.UploadPartAsync(new UploadPartRequest
        {
            BucketName = options.Bucket, Key = key, UploadId = mpu.UploadId, PartNumber = (int)number, InputStream = body, PartSize = n,
        });
        parts.Add(new PartETag((int)number, part.ETag));
    }

    await s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = options.Bucket, Key = key, UploadId = mpu.UploadId, PartETags = parts });
    var seconds = watch.Elapsed.TotalSeconds;
    await VerifyAndDeleteAsync(key, length);
    return length / (double)MiB / seconds;
}

async Task<double> BridgeUploadAsync(long length, int appendSize, ulong seed, string target = "s3")
{
    var watch = Stopwatch.StartNew();
    var location = await IetfAppendUpload.RunAsync(http, target, length, appendSize, seed, CancellationToken.None);
    var seconds = watch.Elapsed.TotalSeconds;
    await VerifyAndDeleteAsync("bridge/" + location.OriginalString.Split('/')[^1], length);
    return length / (double)MiB / seconds;
}

async Task VerifyAndDeleteAsync(string key, long length)
{
    var head = await s3.GetObjectMetadataAsync(options.Bucket, key);
    if (head.ContentLength != length)
    {
        throw new InvalidOperationException($"{key}: {head.ContentLength} bytes stored, {length} sent");
    }

    await s3.DeleteObjectAsync(options.Bucket, key); // fauxqs keeps objects in memory
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

static double PeakRssMiB(int pid) => StatusMiB(pid, "VmHWM:");

static double StatusMiB(int pid, string field)
{
    var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
    return long.Parse(Regex.Match(line, @"\d+").Value, CultureInfo.InvariantCulture) / 1024.0;
}
