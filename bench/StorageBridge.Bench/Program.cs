using System.Globalization;
using System.Text.Json;
using StorageBridge.Bench;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

if (args.Contains(BaselineServer.Argument))
{
    return await BaselineServer.RunAsync(args, cancel.Token);
}

BenchOptions options;
IReadOnlyList<Scenario> scenarios;
try
{
    options = BenchOptions.Parse(args);
    scenarios = options.ResolveScenarios();
}
catch (ArgumentException e)
{
    if (e.Message.Length > 0)
    {
        Console.Error.WriteLine(e.Message);
    }

    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var log = Console.Out;
#if DEBUG
log.WriteLine("WARNING: Debug build. Measure with: dotnet run -c Release --project bench/StorageBridge.Bench -- ...");
#endif
log.WriteLine($"StorageBridge bench: host {options.HostDllPath}, data under {options.TempRoot ?? Path.GetTempPath()}");
log.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, scale-down {options.ScaleDown}, repeat {options.Repeat}");

var runner = new BenchRunner(options, log);
IUploadProtocol[] protocols = [.. options.Servers.Distinct().Order().Select(s => s == "bridge" ? (IUploadProtocol)new IetfDraftProtocol() : new BaselineProtocol())];
var results = new List<RunResult>();
var failures = 0;
foreach (var scenario in scenarios)
{
    var runs = new Dictionary<string, List<RunResult>>();
    for (var repeat = 1; repeat <= options.Repeat; repeat++)
    {
        foreach (var protocol in protocols)
        {
            log.Write($"{scenario.Name,-10} {protocol.Name,-8} {(options.Repeat > 1 ? $"#{repeat} " : "")}... ");
            try
            {
                var result = await runner.RunAsync(scenario, protocol, cancel.Token);
                (runs.TryGetValue(protocol.Name, out var list) ? list : runs[protocol.Name] = []).Add(result);
                log.WriteLine(
                    $"{result.MiBPerSecond,8:F1} MiB/s  p50 {result.P50Ms,7:F1} ms  p99 {result.P99Ms,7:F1} ms  peak RSS {Mib(result.PeakRssBytes),6:F0} MiB (idle {Mib(result.IdleRssBytes):F0})  {result.Elapsed.TotalSeconds:F1} s  {result.Verification}");
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
            {
                failures++;
                log.WriteLine("FAILED");
                log.WriteLine(e.ToString());
            }
        }
    }

    foreach (var protocol in protocols)
    {
        if (runs.TryGetValue(protocol.Name, out var list))
        {
            // The median run by throughput (the lower middle one for an even count).
            results.Add(list.OrderBy(r => r.MiBPerSecond).ElementAt((list.Count - 1) / 2));
        }
    }
}

log.WriteLine();
log.WriteLine("| scenario | server | MiB/s | append p50 ms | append p99 ms | peak RSS MiB | verified |");
log.WriteLine("|---|---|---:|---:|---:|---:|---|");
foreach (var r in results)
{
    log.WriteLine(FormattableString.Invariant($"| {r.Scenario.Name} | {r.Server} | {r.MiBPerSecond:F1} | {r.P50Ms:F1} | {r.P99Ms:F1} | {Mib(r.PeakRssBytes):F0} | {r.Verification} |"));
}

log.WriteLine();
log.WriteLine("| scenario | bridge/baseline MiB/s | p50 | p99 | peak RSS |");
log.WriteLine("|---|---:|---:|---:|---:|");
foreach (var group in results.GroupBy(r => r.Scenario.Name))
{
    var bridge = group.FirstOrDefault(r => r.Server == "bridge");
    var baseline = group.FirstOrDefault(r => r.Server == "baseline");
    if (bridge is null || baseline is null)
    {
        continue;
    }

    log.WriteLine(FormattableString.Invariant(
        $"| {group.Key} | {Ratio(bridge.MiBPerSecond, baseline.MiBPerSecond)} | {Ratio(bridge.P50Ms, baseline.P50Ms)} | {Ratio(bridge.P99Ms, baseline.P99Ms)} | {Ratio(bridge.PeakRssBytes, baseline.PeakRssBytes)} |"));
}

foreach (var server in results.Select(r => r.Server).Distinct())
{
    var small = results.FirstOrDefault(r => r.Server == server && r.Scenario.Name == "rss-1GiB");
    var large = results.FirstOrDefault(r => r.Server == server && r.Scenario.Name == "rss-4GiB");
    if (small is not null && large is not null)
    {
        log.WriteLine(FormattableString.Invariant(
            $"RSS growth {server}: peak {Mib(small.PeakRssBytes):F0} MiB at 1 GiB, {Mib(large.PeakRssBytes):F0} MiB at 4 GiB: {Mib(large.PeakRssBytes - small.PeakRssBytes):+0;-0;0} MiB for 3 GiB more ({(double)large.PeakRssBytes / small.PeakRssBytes:F2}x)"));
    }
}

if (options.JsonPath is not null)
{
    var json = results.Select(r => new
    {
        scenario = r.Scenario.Name,
        server = r.Server,
        uploads = r.Scenario.Uploads,
        size = r.Scenario.Size,
        appendSize = r.Scenario.AppendSize,
        seconds = r.Elapsed.TotalSeconds,
        mibPerSecond = r.MiBPerSecond,
        appends = r.Appends,
        p50Ms = r.P50Ms,
        p99Ms = r.P99Ms,
        maxMs = r.MaxMs,
        idleRssBytes = r.IdleRssBytes,
        peakRssBytes = r.PeakRssBytes,
        verification = r.Verification,
    });
    await File.WriteAllTextAsync(options.JsonPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }), cancel.Token);
}

log.WriteLine(failures == 0 ? "bench: all runs completed" : $"bench: {failures} run(s) failed");
return failures == 0 ? 0 : 1;

static double Mib(long bytes) => bytes / 1048576.0;

static string Ratio(double bridge, double baseline) =>
    baseline == 0 ? "n/a" : (bridge / baseline).ToString("F2", CultureInfo.InvariantCulture);
