using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StorageBridge.Diagnostics;
using StorageBridge.Metadata;
using StorageBridge.Targets;

namespace StorageBridge.AspNetCore.Hosting;

/// <summary>
/// Readiness: the metadata store and every target's backend each answer one cheap call (<see cref="IStorageReadinessProbe"/>;
/// a store without it is asked for an upload id that cannot exist, a backend without it is not probed). All calls run
/// at once, each within <see cref="ProbeTimeout"/>; one failure makes the instance unready. The result's data holds
/// one entry per dependency (<c>metadata</c>, <c>target:{name}</c>): <c>ok</c> or why it failed.
/// </summary>
internal sealed class StorageReadinessCheck(IUploadMetadataStore store, UploadTargetRegistry targets) : IHealthCheck
{
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        var probes = new List<(string Name, Task<string?> Failure)>
        {
            ("metadata", ProbeAsync(store as IStorageReadinessProbe, ct => new ValueTask(store.GetAsync("readiness-probe", ct)), cancellationToken)),
        };
        foreach (var target in targets.All.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            if (target.Backend is IStorageReadinessProbe probe)
            {
                probes.Add(("target:" + target.Name, ProbeAsync(probe, null, cancellationToken)));
            }
        }

        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var failed = new List<string>();
        foreach (var (name, failure) in probes)
        {
            var reason = await failure.ConfigureAwait(false);
            data[name] = reason ?? "ok";
            if (reason is not null)
            {
                failed.Add($"{name}: {reason}");
            }
        }

        return failed.Count == 0
            ? HealthCheckResult.Healthy("The metadata store and every target answered.", data)
            : HealthCheckResult.Unhealthy(string.Join("; ", failed), data: data);
    }

    /// <summary>Null when the dependency answered in time, else a short reason.</summary>
    private static async Task<string?> ProbeAsync(IStorageReadinessProbe? probe, Func<CancellationToken, ValueTask>? fallback, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await (probe is not null ? probe.ProbeAsync(timeout.Token) : fallback!(timeout.Token)).ConfigureAwait(false);
            return null;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return $"no answer within {ProbeTimeout.TotalSeconds:0} s";
        }
        catch (Exception failure) when (failure is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The classified message names the dependency and the status, not credentials.
            return $"{failure.GetType().Name}: {failure.Message} (after {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s)";
        }
    }
}
