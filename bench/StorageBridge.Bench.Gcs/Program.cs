// GCS ingest benchmark: the bridge (Host process, IETF appends, Backend: Gcs) vs. the official Google client's own
// resumable upload (UploadObject with a chunk size; with its default md5/crc32c validation and without), same bytes,
// same GCS emulator (in this process), same run.
// Each object's size and crc32c are checked and the object deleted right after its run.
//
// usage: dotnet run -c Release --project bench/StorageBridge.Bench.Gcs -- [--size-mib 128] [--repeat 3] [--part-size 8MiB]
//                                                                         [--temp DIR] [--verbose]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Google.Cloud.Storage.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using StorageBridge.GcsEmulator;
using StorageBridge.Bench;
using StorageBridge.Tests;

const int MiB = 1024 * 1024;
var sizeMiB = 128;
var repeat = 3;
var verbose = false;
var partSize = "8MiB";
var temp = Path.GetTempPath();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--size-mib": sizeMiB = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--repeat": repeat = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--verbose": verbose = true; break;
        case "--part-size": partSize = args[++i]; break;
        case "--temp": temp = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

var size = (long)sizeMiB * MiB;
var dataRoot = Directory.CreateDirectory(Path.Combine(temp, $"sb-bench-gcs-{Guid.NewGuid():N}")).FullName;
await using var emulator = GcsEmulatorApp.Build(["--urls", "http://127.0.0.1:0", "--GcsEmulator:DataRoot", dataRoot], builder =>
{
    if (!verbose)
    {
        builder.Logging.ClearProviders();
    }
});
await emulator.StartAsync();
var baseUri = emulator.Urls.Single().TrimEnd('/') + "/storage/v1/";
using var gcs = new StorageClientBuilder { BaseUri = baseUri, UnauthenticatedAccess = true }.Build();
const string Bucket = "bench";
await gcs.CreateBucketAsync("bench-project", Bucket);

var environment = new Dictionary<string, string?>
{
    ["StorageBridge__Targets__gcs__Backend"] = "Gcs",
    ["StorageBridge__Targets__gcs__Bucket"] = Bucket,
    ["StorageBridge__Targets__gcs__BaseUri"] = baseUri,
    ["StorageBridge__Targets__gcs__KeyTemplate"] = "bridge/{id}",
    ["StorageBridge__Targets__gcs__PartSize"] = partSize,
};
await using var host = await HostProcess.StartAsync(new HostProcessOptions { Environment = environment, TempRoot = temp, OutputSink = verbose ? Console.WriteLine : null });
using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(5) };

// Warm-up (JIT, connections) on both paths, not measured.
await ClientUploadAsync(8 * MiB, 8 * MiB, seed: 1);
await ClientUploadAsync(8 * MiB, 8 * MiB, seed: 1, validate: false);
await BridgeUploadAsync(8 * MiB, 8 * MiB, seed: 1);

var cpu = new Dictionary<string, (double Bench, double Host)>();
var results = new Dictionary<string, List<double>>
{
    ["client 8 MiB chunks"] = [],
    ["client, no hash check"] = [],
    ["bridge 8 MiB appends"] = [],
    ["bridge 1 MiB appends"] = [],
};
for (var run = 0; run < repeat; run++)
{
    await MeasureAsync("client 8 MiB chunks", () => ClientUploadAsync(size, 8 * MiB, seed: (ulong)run));
    await MeasureAsync("client, no hash check", () => ClientUploadAsync(size, 8 * MiB, seed: (ulong)run + 50, validate: false));
    await MeasureAsync("bridge 8 MiB appends", () => BridgeUploadAsync(size, 8 * MiB, seed: (ulong)run + 100));
    await MeasureAsync("bridge 1 MiB appends", () => BridgeUploadAsync(size, MiB, seed: (ulong)run + 200));
}

Console.WriteLine($"GCS emulator at {baseUri} (data in {dataRoot}), bridge PartSize {partSize}, {sizeMiB} MiB per upload, median of {repeat}:");
// The stricter baseline: the client without its own md5/crc32c computation (the bridge computes none either).
var baseline = Median(results["client, no hash check"]);
foreach (var (name, values) in results)
{
    var median = Median(values);
    var (benchCpu, hostCpu) = cpu[name];
    Console.WriteLine($"  {name,-22} {median,8:F1} MiB/s   {median / baseline:F2}x   CPU ms/MiB: bench+emulator {benchCpu:F1}, host {hostCpu:F1}   " +
        $"(runs: {string.Join(", ", values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))})");
}

Console.WriteLine("  (ratios against the client without hash check; CPU is summed over all runs, uploads' verification excluded)");

await emulator.StopAsync();
Directory.Delete(dataRoot, recursive: true);
return 0;

async Task<(double, TimeSpan, TimeSpan)> ClientUploadAsync(long length, int chunkSize, ulong seed, bool validate = true)
{
    var key = $"client/{Guid.NewGuid():N}";
    await using var source = new DeterministicStream(seed, length);
    var before = CpuNow();
    var watch = Stopwatch.StartNew();
    await gcs.UploadObjectAsync(Bucket, key, "application/octet-stream", source, new UploadObjectOptions { ChunkSize = chunkSize, UploadValidationMode = validate ? null : UploadValidationMode.None });
    var seconds = watch.Elapsed.TotalSeconds;
    var after = CpuNow();
    await VerifyAndDeleteAsync(key, length, seed);
    return (length / (double)MiB / seconds, after.Bench - before.Bench, after.Host - before.Host);
}

async Task<(double, TimeSpan, TimeSpan)> BridgeUploadAsync(long length, int appendSize, ulong seed)
{
    var before = CpuNow();
    var watch = Stopwatch.StartNew();
    var location = await IetfAppendUpload.RunAsync(http, "gcs", length, appendSize, seed, CancellationToken.None);
    var seconds = watch.Elapsed.TotalSeconds;
    var after = CpuNow();
    await VerifyAndDeleteAsync("bridge/" + location.OriginalString.Split('/')[^1], length, seed);
    return (length / (double)MiB / seconds, after.Bench - before.Bench, after.Host - before.Host);
}

async Task VerifyAndDeleteAsync(string key, long length, ulong seed)
{
    var stored = await gcs.GetObjectAsync(Bucket, key);
    var crc = Crc32C.Initial;
    var buffer = new byte[MiB];
    for (long offset = 0; offset < length; offset += buffer.Length)
    {
        var n = (int)Math.Min(buffer.Length, length - offset);
        DeterministicData.Fill(seed, offset, buffer.AsSpan(0, n));
        crc = Crc32C.Append(crc, buffer.AsSpan(0, n));
    }

    if ((long)(stored.Size ?? 0) != length || stored.Crc32c != Crc32C.ToBase64(Crc32C.Finish(crc)))
    {
        throw new InvalidOperationException($"{key}: {stored.Size} bytes stored (crc32c {stored.Crc32c}), {length} sent");
    }

    await gcs.DeleteObjectAsync(Bucket, key);
}

// MiB/s of one run; CPU time of this process (client and emulator) and of the host during it, per MiB.
async Task MeasureAsync(string name, Func<Task<(double MiBPerSecond, TimeSpan BenchCpu, TimeSpan HostCpu)>> upload)
{
    var (speed, benchCpu, hostCpu) = await upload();
    results[name].Add(speed);
    var sum = cpu.GetValueOrDefault(name);
    var mib = size / (double)MiB * repeat;
    cpu[name] = (sum.Bench + (benchCpu.TotalMilliseconds / mib), sum.Host + (hostCpu.TotalMilliseconds / mib));
}

(TimeSpan Bench, TimeSpan Host) CpuNow() => (Process.GetCurrentProcess().TotalProcessorTime, HostCpu(host.ProcessId!.Value));

static TimeSpan HostCpu(int pid)
{
    // utime and stime are fields 14 and 15 of /proc/{pid}/stat, in clock ticks (100 per second on Linux).
    var fields = File.ReadAllText($"/proc/{pid}/stat").Split(')')[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
    return TimeSpan.FromMilliseconds((long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10);
}

static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

/// <summary>A seekable read-only stream of <paramref name="length"/> PRNG bytes, generated as the client reads.</summary>
internal sealed class DeterministicStream(ulong seed, long length) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get; set; }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - Position);
        if (n <= 0)
        {
            return 0;
        }

        DeterministicData.Fill(seed, Position, buffer[..n]);
        Position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => Position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
