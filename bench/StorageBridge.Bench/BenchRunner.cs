using System.Diagnostics;
using System.Net;
using System.Reflection;
using StorageBridge.Tests;

namespace StorageBridge.Bench;

internal sealed record Scenario(string Name, int Uploads, long Size, long AppendSize, bool VerifySha256)
{
    public long TotalBytes => Uploads * Size;
}

internal sealed record RunResult(
    Scenario Scenario,
    string Server,
    TimeSpan Elapsed,
    int Appends,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    long IdleRssBytes,
    long PeakRssBytes,
    string Verification)
{
    public double MiBPerSecond => Scenario.TotalBytes / 1048576.0 / Elapsed.TotalSeconds;
}

/// <summary>Runs one scenario against one server in a fresh server process with a fresh temp data directory.</summary>
internal sealed class BenchRunner(BenchOptions options, TextWriter log)
{
    private const ulong SeedBase = 0x5B_0000_0000UL;

    public async Task<RunResult> RunAsync(Scenario scenario, IUploadProtocol protocol, CancellationToken cancellationToken)
    {
        await using var server = await StartServerAsync(protocol, cancellationToken);
        var pid = server.ProcessId ?? throw new InvalidOperationException("server is not running");
        using var client = CreateClient(server.BaseAddress);

        // Warm-up (JIT, connection pool, metadata store): one small upload, not measured.
        await UploadAsync(client, protocol, SeedBase - 1, 2 << 20, 1 << 20, latencies: null, cancellationToken);

        var latencies = new List<double>[scenario.Uploads];
        var uploads = new Uri[scenario.Uploads];
        RunResult result;
        await using (var rss = new RssSampler(pid))
        {
            var started = Stopwatch.GetTimestamp();
            var tasks = new Task[scenario.Uploads];
            for (var i = 0; i < scenario.Uploads; i++)
            {
                var index = i;
                latencies[index] = new List<double>((int)Math.Max(1, scenario.Size / scenario.AppendSize));
                tasks[index] = Task.Run(
                    async () => uploads[index] = await UploadAsync(client, protocol, SeedBase + (ulong)index, scenario.Size, scenario.AppendSize, latencies[index], cancellationToken),
                    cancellationToken);
            }

            await Task.WhenAll(tasks);
            var elapsed = Stopwatch.GetElapsedTime(started);
            await rss.DisposeAsync();

            var all = latencies.SelectMany(l => l).Order().ToArray();
            result = new RunResult(
                scenario,
                protocol.Name,
                elapsed,
                all.Length,
                Percentile(all, 0.50),
                Percentile(all, 0.99),
                all.Length == 0 ? 0 : all[^1],
                rss.StartRssBytes,
                Math.Max(rss.HighWaterMarkBytes, rss.MaxSampledRssBytes),
                "");
        }

        var verification = await VerifyAsync(scenario, protocol, server, uploads, cancellationToken);
        return result with { Verification = verification };
    }

    private async Task<HostProcess> StartServerAsync(IUploadProtocol protocol, CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string?>();
        if (protocol is BaselineProtocol)
        {
            // Same GC mode as the Host (Microsoft.NET.Sdk.Web defaults to Server GC), so RSS compares like with like.
            environment["DOTNET_gcServer"] = HostUsesServerGc(options.HostDllPath) ? "1" : "0";
            return await HostProcess.StartAsync(
                new HostProcessOptions
                {
                    HostDllPath = Assembly.GetExecutingAssembly().Location,
                    ExtraArguments = [BaselineServer.Argument],
                    Environment = environment,
                    KeepDataDirectory = options.KeepData,
                TempRoot = options.TempRoot,
                    LogLevel = "Warning",
                },
                cancellationToken);
        }

        return await HostProcess.StartAsync(
            new HostProcessOptions
            {
                HostDllPath = options.HostDllPath,
                Environment = environment,
                KeepDataDirectory = options.KeepData,
                TempRoot = options.TempRoot,
                LogLevel = "Warning",
                OutputSink = options.Verbose ? log.WriteLine : null,
            },
            cancellationToken);
    }

    private static async Task<Uri> UploadAsync(HttpClient client, IUploadProtocol protocol, ulong seed, long size, long appendSize, List<double>? latencies, CancellationToken cancellationToken)
    {
        var upload = await protocol.CreateAsync(client, size, cancellationToken);
        var offset = 0L;
        do
        {
            var length = Math.Min(appendSize, size - offset);
            var last = offset + length == size;
            using var body = new PrngContent(seed, offset, length, hash: null);
            var started = Stopwatch.GetTimestamp();
            var next = await protocol.AppendAsync(client, upload, offset, body, last, cancellationToken);
            latencies?.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            offset = next;
        }
        while (offset < size);

        return upload;
    }

    private static async Task<string> VerifyAsync(Scenario scenario, IUploadProtocol protocol, HostProcess server, Uri[] uploads, CancellationToken cancellationToken)
    {
        for (var i = 0; i < uploads.Length; i++)
        {
            var path = protocol.StoredPath(server.TargetRoot, uploads[i]);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new InvalidOperationException($"{protocol.Name} {scenario.Name}: upload {i} ({uploads[i]}) has no stored object at {path}");
            }

            if (info.Length != scenario.Size)
            {
                throw new InvalidOperationException($"{protocol.Name} {scenario.Name}: upload {i} stored {info.Length} bytes, expected {scenario.Size}");
            }
        }

        if (!scenario.VerifySha256)
        {
            return $"size ok x{uploads.Length}";
        }

        var expected = DeterministicData.Sha256(SeedBase, scenario.Size);
        var actual = await DeterministicData.Sha256FileAsync(protocol.StoredPath(server.TargetRoot, uploads[0]), cancellationToken);
        if (actual != expected)
        {
            throw new InvalidOperationException($"{protocol.Name} {scenario.Name}: sha-256 of the stored object is {actual}, expected {expected}");
        }

        return $"size+sha256 ok ({expected[..12]}…)";
    }

    private static HttpClient CreateClient(Uri baseAddress) =>
        new(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(30),
        };

    private static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static bool HostUsesServerGc(string hostDll)
    {
        var runtimeConfig = Path.ChangeExtension(hostDll, ".runtimeconfig.json");
        return File.Exists(runtimeConfig) && File.ReadAllText(runtimeConfig).Contains("\"System.GC.Server\": true", StringComparison.Ordinal);
    }
}
